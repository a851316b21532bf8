"""/api/v1/audit: the audit trail of administrative actions, for the audit administrator alone."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from xietong.pagination import MAX_LIMIT, Page
from xietong.security.audit import AuditOut, audit_trail
from xietong.web.deps import CurrentPrincipal, reading

router = APIRouter(prefix="/audit", tags=["审计"])


@router.get("", summary="审计日志（仅审计管理员）")
def trail(
    request: Request,
    principal: CurrentPrincipal,
    action: Annotated[str, Query(max_length=60, description="操作名或其前缀，如 directory.")] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Page[AuditOut]:
    with reading(request) as session:
        return audit_trail(session, principal=principal, action=action, limit=limit, cursor=cursor)
