"""The outbound half of the outbox: messages to outside systems, with their attempts and replies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from xietong.db.base import Base, BigId, utcnow

PENDING = text("state = 'pending'")


class OutboundMessage(Base):
    """One call to make to an outside system (``channel``), in order per ``key`` where the channel wants order.

    ``message_id`` is stable across retries: the outside system (and its stand-in) de-duplicates by it, so a
    message sent twice after a lost reply takes effect once.
    """

    __tablename__ = "outbound_message"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(60))
    key: Mapped[str | None] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending | done | dead | skipped
    attempts: Mapped[int] = mapped_column(default=0)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None]
    reply: Mapped[dict[str, Any] | None]

    __table_args__ = (
        Index("ix_outbound_pending", "available_at", postgresql_where=PENDING, sqlite_where=PENDING),
        Index("ix_outbound_channel_key", "channel", "key", "id"),
    )
