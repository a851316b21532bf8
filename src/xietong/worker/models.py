"""Timer and outbox rows: written in the operation's transaction, claimed later by a worker."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from xietong.db.base import Base, BigId, utcnow

PENDING = text("state = 'pending'")


class Timer(Base):
    """Something to do at ``fire_at`` (a card, a reminder); the handler re-checks that it still applies."""

    __tablename__ = "timer"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    case_id: Mapped[int | None]
    task_id: Mapped[int | None]
    fire_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending | done | cancelled
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attempts: Mapped[int] = mapped_column(default=0)
    done_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_timer_pending", "fire_at", postgresql_where=PENDING, sqlite_where=PENDING),)


class OutboxMessage(Base):
    """A side effect to deliver after commit (notification, webhook); ``key`` orders it (the case)."""

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    topic: Mapped[str] = mapped_column(String(60))
    key: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending | done | dead
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_outbox_pending", "available_at", postgresql_where=PENDING, sqlite_where=PENDING),)
