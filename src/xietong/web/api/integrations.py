"""/api/v1 integrations (系统管理员): every outside system's health and backlog, dead messages, replay and skip."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from xietong.db.base import utcnow
from xietong.integrations import health
from xietong.integrations.models import OutboundMessage
from xietong.web.deps import CurrentPrincipal, audit, reading, writing

router = APIRouter(tags=["外部系统对接"])
PAST = {"replay": "integrations.message_replayed", "skip": "integrations.message_skipped"}


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
        if action == "replay":
            message = health.replay(session, principal=principal, message_id=message_id, now=utcnow())
        else:
            message = health.skip(session, principal=principal, message_id=message_id)
        audit(session, request, principal, PAST[action], target_kind="outbound_message",
              target_id=message.id, channel=message.channel)
        return _message(message)
