"""/api/v1 integrations (系统管理员): every outside system's health and backlog, dead messages, replay and skip."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from xietong.db.base import utcnow
from xietong.integrations import health
from xietong.integrations.models import OutboundMessage
from xietong.integrations.province.follower import TZ
from xietong.integrations.province.reconcile import fetch_receipts, reconcile
from xietong.web.deps import CurrentPrincipal, audit, reading, writing

router = APIRouter(tags=["外部系统对接"])


class ChannelHealthOut(BaseModel):
    channel: str
    label: str
    status: Literal["ok", "retrying", "failing", "unconfigured"]
    configured: bool
    pending: int
    dead: int
    oldest_pending_at: datetime | None
    last_done_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None


class OutboundMessageOut(BaseModel):
    id: int
    channel: str
    kind: str
    key: str | None
    message_id: str
    state: str
    attempts: int
    created_at: datetime
    last_attempt_at: datetime | None
    last_error: str | None
    payload: dict[str, Any]


def _message(m: OutboundMessage) -> OutboundMessageOut:
    return OutboundMessageOut.model_validate(m, from_attributes=True)


@router.get("/integrations", summary="各外部系统对接的状态、积压和最近错误")
def integrations(request: Request, principal: CurrentPrincipal) -> list[ChannelHealthOut]:
    with reading(request) as session:
        report = health.channel_health(session, principal=principal, settings=request.app.state.settings)
        return [ChannelHealthOut(status=h.status, **vars(h)) for h in report]  # type: ignore[arg-type]


@router.get("/integrations/dead", summary="发送失败（死信）的对接消息，各自挡住同一键的后续消息（按序通道）")
def dead(request: Request, principal: CurrentPrincipal, channel: str | None = None,
         limit: Annotated[int, Query(ge=1, le=200)] = 200) -> list[OutboundMessageOut]:
    with reading(request) as session:
        return [_message(m) for m in health.dead_messages(session, principal=principal, channel=channel,
                                                            limit=limit)]


@router.post("/integrations/messages/{message_id}/{action}", summary="重放或跳过一条死信")
def replay_or_skip(message_id: int, action: Literal["replay", "skip"], request: Request,
                   principal: CurrentPrincipal) -> OutboundMessageOut:
    with writing(request) as session:
        message = health.act(session, principal=principal, message_id=message_id, action=action, now=utcnow())
        audit(session, request, principal, health.AUDITED[action], target_kind="outbound_message",
              target_id=message.id, channel=message.channel)
        return _message(message)


class ReconciliationLineOut(BaseModel):
    serial: str
    table: str
    case_number: str
    state: str
    last_error: str | None


class ReconciliationOut(BaseModel):
    day: date
    balanced: bool
    confirmed: int
    unconfirmed: list[ReconciliationLineOut]
    waiting: list[ReconciliationLineOut]
    dead: list[ReconciliationLineOut]
    unknown: list[str]


@router.get("/integrations/province/reconciliation", summary="省平台办件上报对账：某日上报而省平台未确认的记录")
def province_reconciliation(request: Request, principal: CurrentPrincipal, day: date | None = None
                            ) -> ReconciliationOut:
    health.require_admin(principal)
    when = day or datetime.now(TZ).date()
    receipts = fetch_receipts(request.app.state.settings, when)  # an outside call: no transaction open
    with reading(request) as session:
        report = reconcile(session, when, receipts)
    lines = {name: [ReconciliationLineOut(**vars(line)) for line in getattr(report, name)]
             for name in ("unconfirmed", "waiting", "dead")}
    return ReconciliationOut(day=when, balanced=report.balanced, confirmed=report.confirmed,
                             unknown=report.unknown, **lines)
