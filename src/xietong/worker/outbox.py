"""Delivering the transactional outbox: claim pending messages, run their topic's handler, mark them done.

A message's effect and its ``done`` mark commit together (the duty's one transaction, each message in its own
savepoint), so a worker killed at any moment leaves the message pending with no effect, and a later tick does
it exactly once. A handler that raises is rolled back to its savepoint; the message keeps ``pending`` with
``attempts`` + 1, ``last_error`` and an exponentially later ``available_at``, and turns ``dead`` after
``MAX_ATTEMPTS``. Several workers claim disjoint rows with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite
the writer lock serialises them.

Topics register a handler with ``@handles("topic")``; the cases domain adds ``task.opened`` (``cases/jobs.py``),
later issues add webhooks and messaging the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from xietong.db.base import utcnow
from xietong.worker.models import OutboxMessage
from xietong.worker.registry import registrar

logger = logging.getLogger(__name__)

OUTBOX = OutboxMessage.__table__
BATCH = 100
MAX_ATTEMPTS = 10
FIRST_BACKOFF = timedelta(seconds=10)
MAX_BACKOFF = timedelta(hours=6)

Handler = Callable[[Session, dict[str, Any]], None]
HANDLERS: dict[str, Handler] = {}


class UnknownTopic(LookupError):
    """No handler is registered for a message's topic (it is retried: a newer worker may know it)."""


def handles(topic: str) -> Callable[[Handler], Handler]:
    """Register ``handler(session, payload)`` for ``topic`` (one handler per topic)."""
    return registrar(HANDLERS, topic, "topic")


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failure: 10 s, 20 s, 40 s … at most six hours."""
    return min(FIRST_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


def claim_messages(session: Session, *, now: datetime, limit: int = BATCH) -> Sequence[Row[Any]]:
    """Lock up to ``limit`` due pending messages, oldest first, skipping rows another worker holds."""
    query = (
        select(OUTBOX.c.id, OUTBOX.c.topic, OUTBOX.c.payload, OUTBOX.c.attempts)
        .where(OUTBOX.c.state == "pending", OUTBOX.c.available_at <= now)
        .order_by(OUTBOX.c.available_at, OUTBOX.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return session.execute(query).all()


def deliver_outbox(session: Session, *, now: datetime | None = None, limit: int = BATCH) -> int:
    """One batch of deliveries in the caller's transaction; returns how many messages were tried."""
    now = now or utcnow()
    messages = claim_messages(session, now=now, limit=limit)
    for message in messages:
        try:
            with session.begin_nested():
                handler = HANDLERS.get(message.topic)
                if handler is None:
                    raise UnknownTopic(f"no handler for topic {message.topic!r}")
                handler(session, dict(message.payload))
                session.execute(update(OUTBOX).where(OUTBOX.c.id == message.id).values(state="done", done_at=now))
        except Exception as exc:  # any handler failure is the message's, not the batch's
            _failed(session, message, exc, now)
    return len(messages)


def _failed(session: Session, message: Row[Any], exc: Exception, now: datetime) -> None:
    attempts = message.attempts + 1
    state = "dead" if attempts >= MAX_ATTEMPTS else "pending"
    logger.warning("outbox message %s (%s) failed, attempt %s: %r", message.id, message.topic, attempts, exc)
    session.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == message.id)
        .values(attempts=attempts, state=state, last_error=f"{type(exc).__name__}: {exc}"[:2000],
                available_at=now + backoff(attempts))
    )
