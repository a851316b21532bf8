"""/api/v1 oversight routes: 催办, 抄送 and 抄送我的, 督办 and 整改 orders, 评价, and 常用意见."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from xietong.db.base import utcnow
from xietong.oversight import queries
from xietong.oversight import service as oversight
from xietong.oversight.enums import Level
from xietong.oversight.schemas import CopiedItem, CopyOut, OpinionOut, OrderOut, RatingOut, UrgeCounts
from xietong.oversight.service.copies import copy_unread
from xietong.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from xietong.security.principal import Principal
from xietong.web.bodies import RequestBody
from xietong.web.deps import CurrentPrincipal, reading, settings_of, writing

router = APIRouter(tags=["监督"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="每页条数")]
Cursor = Annotated[str | None, Query(max_length=500, description="上一页返回的 next_cursor")]
WithTotal = Annotated[bool, Query(description="同时返回总数")]
Text = Annotated[str, Field(max_length=2000)]


class UrgeIn(RequestBody):
    note: Annotated[str, Field(max_length=500)] = ""


class CreatedOut(BaseModel):
    id: int


class CopyIn(RequestBody):
    person_ids: list[int] = Field(min_length=1, max_length=50)
    note: Annotated[str, Field(max_length=500)] = ""


class CopiedOut(BaseModel):
    person_ids: list[int]


class SupervisionIn(RequestBody):
    content: Text = Field(min_length=1)
    deadline: date | None = Field(None, description="期限日期（当地时间当日 24:00 止）")
    days: int | None = Field(None, ge=1, le=60, description="或：若干个工作日（今天不计）")


class AnswerIn(RequestBody):
    answer: Text = Field(min_length=1)


class ReasonIn(RequestBody):
    reason: Text = Field(min_length=1)


class RatingIn(RequestBody):
    level: Level
    comment: Annotated[str, Field(max_length=1000)] = ""


class RatedOut(BaseModel):
    id: int
    rectification_id: int | None


class OpinionIn(RequestBody):
    text: Annotated[str, Field(min_length=1, max_length=500)]


class OpinionOrderIn(RequestBody):
    ids: list[int] = Field(max_length=200)


def note_copy_read(request: Request, principal: Principal, case_id: int) -> None:
    """Set the read receipt of a case copied to this person — a write only the first time they read it."""
    with reading(request) as session:
        unread = copy_unread(session, principal=principal, case_id=case_id)
    if unread:
        with writing(request) as session:
            oversight.mark_copy_read(session, principal=principal, case_id=case_id, now=utcnow())


# --- 催办 ----------------------------------------------------------------------------------------------------


@router.post("/cases/{case_id}/urge", status_code=201, summary="催办：提醒当前办理人")
def urge(case_id: int, body: UrgeIn, request: Request, principal: CurrentPrincipal) -> CreatedOut:
    settings = settings_of(request)
    with writing(request) as session:
        urge_id = oversight.urge_case(
            session, principal=principal, case_id=case_id, note=body.note, tz=settings.timezone,
            min_interval=timedelta(minutes=settings.urge_interval_minutes),
        )
    return CreatedOut(id=urge_id)


@router.get("/cases/{case_id}/urges", summary="催办次数（按办件、按待办）")
def urges(case_id: int, request: Request, principal: CurrentPrincipal) -> UrgeCounts:
    with reading(request) as session:
        return queries.urge_counts(session, principal=principal, case_id=case_id)


# --- 抄送 ----------------------------------------------------------------------------------------------------


@router.post("/cases/{case_id}/copies", status_code=201, summary="抄送：让他人阅知办件（只读）")
def copy(case_id: int, body: CopyIn, request: Request, principal: CurrentPrincipal) -> CopiedOut:
    with writing(request) as session:
        new = oversight.copy_case(
            session, principal=principal, case_id=case_id, person_ids=body.person_ids, note=body.note,
            tz=settings_of(request).timezone,
        )
    return CopiedOut(person_ids=new)


@router.get("/cases/{case_id}/copies", summary="抄送对象及阅读情况（一页列全）")
def copies(case_id: int, request: Request, principal: CurrentPrincipal) -> Page[CopyOut]:
    with reading(request) as session:
        return Page(items=queries.case_copies(session, principal=principal, case_id=case_id))


@router.get("/copies/mine", summary="抄送我的（最新在前，可只看未读）")
def copied_to_me(
    request: Request, principal: CurrentPrincipal, unread: bool | None = None, limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None, with_total: WithTotal = False,
) -> Page[CopiedItem]:
    with reading(request) as session:
        return queries.copied_to_me(
            session, principal=principal, unread=unread, limit=limit, cursor=cursor, with_total=with_total
        )


# --- 督办 and 整改 ---------------------------------------------------------------------------------------------


@router.post("/cases/{case_id}/supervision", status_code=201, summary="督办：向承办单位下达督办单")
def supervise(case_id: int, body: SupervisionIn, request: Request, principal: CurrentPrincipal) -> CreatedOut:
    with writing(request) as session:
        order_id = oversight.issue_supervision(
            session, principal=principal, case_id=case_id, content=body.content, deadline=body.deadline,
            days=body.days, tz=settings_of(request).timezone,
        )
    return CreatedOut(id=order_id)


@router.get("/cases/{case_id}/orders", summary="办件的督办单与整改单（一页列全）")
def case_orders(case_id: int, request: Request, principal: CurrentPrincipal) -> Page[OrderOut]:
    with reading(request) as session:
        return Page(items=queries.case_orders(session, principal=principal, case_id=case_id))


@router.get("/orders", summary="我下达的或发给我单位的督办单、整改单")
def orders(
    request: Request, principal: CurrentPrincipal,
    mine: Annotated[Literal["issued", "addressed"], Query(description="issued 我下达的 / addressed 发给我单位的")],
    kind: Literal["supervision", "rectification"] | None = None,
    state: Literal["open", "answered", "closed", "overdue"] | None = None,
    limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None, with_total: WithTotal = False,
) -> Page[OrderOut]:
    with reading(request) as session:
        return queries.orders(
            session, principal=principal, mine=mine, kind=kind, state=state, limit=limit, cursor=cursor,
            with_total=with_total,
        )


@router.post("/orders/{order_id}/answer", status_code=204, summary="承办单位答复督办单或整改单")
def answer(order_id: int, body: AnswerIn, request: Request, principal: CurrentPrincipal) -> Response:
    with writing(request) as session:
        oversight.answer_order(
            session, principal=principal, order_id=order_id, answer=body.answer, tz=settings_of(request).timezone
        )
    return Response(status_code=204)


@router.post("/orders/{order_id}/close", status_code=204, summary="认可答复，办结督办单或整改单")
def close(order_id: int, request: Request, principal: CurrentPrincipal) -> Response:
    with writing(request) as session:
        oversight.close_order(session, principal=principal, order_id=order_id, tz=settings_of(request).timezone)
    return Response(status_code=204)


@router.post("/orders/{order_id}/send-back", status_code=204, summary="退回答复，要求重新答复")
def send_back(order_id: int, body: ReasonIn, request: Request, principal: CurrentPrincipal) -> Response:
    with writing(request) as session:
        oversight.send_back_order(
            session, principal=principal, order_id=order_id, reason=body.reason, tz=settings_of(request).timezone
        )
    return Response(status_code=204)


# --- 评价 ----------------------------------------------------------------------------------------------------


@router.post("/cases/{case_id}/rating", status_code=201, summary="评价已办结的办件（差评自动生成整改单）")
def rate(case_id: int, body: RatingIn, request: Request, principal: CurrentPrincipal) -> RatedOut:
    with writing(request) as session:
        rated = oversight.rate_case(
            session, principal=principal, case_id=case_id, level=body.level.value, comment=body.comment,
            tz=settings_of(request).timezone,
        )
    return RatedOut(id=rated.rating_id, rectification_id=rated.rectification_id)


@router.get("/cases/{case_id}/rating", summary="办件的评价")
def rating(case_id: int, request: Request, principal: CurrentPrincipal) -> RatingOut:
    with reading(request) as session:
        return queries.case_rating(session, principal=principal, case_id=case_id)


# --- 常用意见 --------------------------------------------------------------------------------------------------


def _opinion(o: object) -> OpinionOut:
    return OpinionOut.model_validate(o, from_attributes=True)


@router.get("/opinions", tags=["常用意见"], summary="我的常用意见（按我的排序，一页列全）")
def saved_opinions(request: Request, principal: CurrentPrincipal) -> Page[OpinionOut]:
    with reading(request) as session:
        return Page(items=[_opinion(o) for o in oversight.saved_opinions(session, principal=principal)])


@router.post("/opinions", status_code=201, tags=["常用意见"], summary="添加常用意见（排在最后）")
def add_opinion(body: OpinionIn, request: Request, principal: CurrentPrincipal) -> OpinionOut:
    with writing(request) as session:
        return _opinion(oversight.add_opinion(session, principal=principal, text=body.text))


@router.put("/opinions/order", status_code=204, tags=["常用意见"], summary="调整常用意见的顺序")
def reorder_opinions(body: OpinionOrderIn, request: Request, principal: CurrentPrincipal) -> Response:
    with writing(request) as session:
        oversight.reorder_opinions(session, principal=principal, ids=body.ids)
    return Response(status_code=204)


@router.put("/opinions/{opinion_id}", tags=["常用意见"], summary="修改常用意见")
def edit_opinion(opinion_id: int, body: OpinionIn, request: Request, principal: CurrentPrincipal) -> OpinionOut:
    with writing(request) as session:
        return _opinion(oversight.edit_opinion(session, principal=principal, opinion_id=opinion_id, text=body.text))


@router.delete("/opinions/{opinion_id}", status_code=204, tags=["常用意见"], summary="删除常用意见")
def delete_opinion(opinion_id: int, request: Request, principal: CurrentPrincipal) -> Response:
    with writing(request) as session:
        oversight.delete_opinion(session, principal=principal, opinion_id=opinion_id)
    return Response(status_code=204)
