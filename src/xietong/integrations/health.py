"""What the administrators see of the integrations: each channel's health, backlog and last error; the dead
messages, and replaying or skipping one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xietong.config import Settings
from xietong.errors import Conflict, Forbidden, NotFound
from xietong.integrations.channels import CHANNELS
from xietong.integrations.models import OutboundMessage
from xietong.security.permissions import may_administer
from xietong.security.principal import Principal

AREA = "integrations"


@dataclass(frozen=True)
class ChannelHealth:
    channel: str
    label: str
    configured: bool
    pending: int
    dead: int
    oldest_pending_at: datetime | None
    last_done_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None

    @property
    def status(self) -> str:
        """ok, retrying (the last attempt failed), failing (messages are dead) or unconfigured (nothing is sent)."""
        if not self.configured:
            return "unconfigured"
        if self.dead:
            return "failing"
        if self.last_error_at and (self.last_done_at is None or self.last_error_at > self.last_done_at):
            return "retrying"
        return "ok"


def require_admin(principal: Principal) -> None:
    if not may_administer(principal, AREA):
        raise Forbidden(code="integrations_forbidden", detail="只有系统管理员可以查看和处理外部系统对接")


def channel_health(session: Session, *, principal: Principal, settings: Settings) -> list[ChannelHealth]:
    """Every registered channel, with its backlog (pending, dead, the oldest pending) and its last outcomes."""
    require_admin(principal)
    m = OutboundMessage
    counts = {
        (row.channel, row.state): (row.n, row.oldest)
        for row in session.execute(
            select(m.channel, m.state, func.count().label("n"), func.min(m.created_at).label("oldest"))
            .where(m.state.in_(("pending", "dead"))).group_by(m.channel, m.state)
        )
    }
    last_done = dict(session.execute(
        select(m.channel, func.max(m.done_at)).where(m.state == "done").group_by(m.channel)).all())
    report = []
    for name, channel in sorted(CHANNELS.items()):
        failed = session.execute(
            select(m.last_error, m.last_attempt_at).where(m.channel == name, m.last_error.is_not(None))
            .order_by(m.last_attempt_at.desc()).limit(1)
        ).first()
        pending, oldest = counts.get((name, "pending"), (0, None))
        dead, oldest_dead = counts.get((name, "dead"), (0, None))
        oldest_open = min((t for t in (oldest, oldest_dead) if t), default=None)
        report.append(ChannelHealth(
            name, channel.label, channel.configured(settings), pending, dead, oldest_open,
            last_done.get(name), failed.last_error if failed else None, failed.last_attempt_at if failed else None,
        ))
    return report


def dead_messages(session: Session, *, principal: Principal, channel: str | None = None,
                  limit: int = 200) -> list[OutboundMessage]:
    require_admin(principal)
    query = select(OutboundMessage).where(OutboundMessage.state == "dead")
    if channel is not None:
        query = query.where(OutboundMessage.channel == channel)
    return list(session.scalars(query.order_by(OutboundMessage.id).limit(limit)))


def _dead(session: Session, message_id: int) -> OutboundMessage:
    message = session.scalar(select(OutboundMessage).where(OutboundMessage.id == message_id).with_for_update())
    if message is None:
        raise NotFound(code="outbound_message_not_found", detail="没有这条对接消息")
    if message.state != "dead":
        raise Conflict(code="outbound_message_not_dead", detail="只有失败（死信）的消息可以重放或跳过")
    return message


def replay(session: Session, *, principal: Principal, message_id: int, now: datetime) -> OutboundMessage:
    """Send a dead message again from its first attempt (same ``message_id``: the outside system de-duplicates)."""
    require_admin(principal)
    message = _dead(session, message_id)
    message.state, message.attempts, message.available_at = "pending", 0, now
    return message


def skip(session: Session, *, principal: Principal, message_id: int) -> OutboundMessage:
    """Give a dead message up; the later messages of its key go on."""
    require_admin(principal)
    message = _dead(session, message_id)
    message.state = "skipped"
    return message


#: The audit action of each thing an administrator does to a dead message.
AUDITED = {"replay": "integrations.message_replayed", "skip": "integrations.message_skipped"}


def act(session: Session, *, principal: Principal, message_id: int, action: str, now: datetime) -> OutboundMessage:
    """``replay`` or ``skip`` a dead message (the one entry point the API and the page share)."""
    if action == "replay":
        return replay(session, principal=principal, message_id=message_id, now=now)
    return skip(session, principal=principal, message_id=message_id)
