"""/api/v1/events (the change feed) and /api/v1/export/{library}.{format} (the four libraries in full)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from xietong.dataservice import export, feed
from xietong.web.deps import CurrentPrincipal, reading

router = APIRouter(tags=["数据服务：变更流与导出"])


class ChangeOut(BaseModel):
    position: int
    event_id: int
    case_id: int
    case_number: str
    seq: int
    type: str
    actor_kind: str
    actor_id: int | None
    at: datetime
    delta: dict[str, Any]


class FeedOut(BaseModel):
    items: list[ChangeOut]
    next_cursor: str
    has_more: bool


@router.get("/events", summary="变更流：按提交顺序返回 after 游标之后的全部变更（断点续传，无遗漏无重复）")
def events(
    request: Request,
    principal: CurrentPrincipal,
    after: Annotated[str | None, Query(max_length=20, description="上次返回的 next_cursor；首次同步不传或传 0")] = None,
    limit: Annotated[int, Query(ge=1, le=feed.MAX_LIMIT)] = 500,
) -> FeedOut:
    with reading(request) as session:
        page = feed.changes(session, principal=principal, after=after, limit=limit)
    return FeedOut(
        items=[ChangeOut(**item.__dict__) for item in page.items], next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


@router.get("/export/{library}.{fmt}", summary="导出四库之一（units、people、matters、cases；json、csv、xlsx）",
            response_class=Response)
def export_library(library: str, fmt: str, request: Request, principal: CurrentPrincipal) -> Response:
    with reading(request) as session:
        content = export.render(export.export_rows(session, principal=principal, library=library),
                                library=library, fmt=fmt)
    return Response(
        content, media_type=export.FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="xietong-{library}.{fmt}"'},
    )
