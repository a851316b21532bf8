"""Firing durable timers: find due pending timers, run their kind's handler, mark them done in one transaction.

A handler decides from the *current* state of what the timer is about (a card from the case's current
``due_at``, never from the timer's ``fire_at``), so a stale timer is simply marked done without effect. The
effect and the ``done`` mark commit together (the duty's transaction, each timer in its own savepoint): a
worker killed at any moment leaves the timer pending and its effect unwritten, and the next tick does it once.

Lock order (docs/concurrency.md): the handler locks the case row first; only then is the timer row taken,
by a guarded ``UPDATE … WHERE state = 'pending'`` whose row count says whether this worker won it — so an
operation that cancels timers under its case lock never deadlocks with a worker. A second worker racing for
the same timer waits on the case lock, then finds the effect done (handlers are idempotent on the state)
and loses the guarded update. Handlers that fail are rolled back to their savepoint; the timer stays pending
with ``attempts`` + 1 and a later ``fire_at``, and turns ``dead`` after ``MAX_ATTEMPTS``.

Kinds register with ``@handles("kind")``: the cases domain adds ``case_yellow``, ``case_red`` and ``task_due``
(``cases/cards.py``); a later issue adds e.g. ``supervision_due`` the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from xietong.db.base import utcnow
from xietong.worker.models import Timer
from xietong.worker.registry import registrar

logger = logging.getLogger(__name__)

TIMER = Timer.__table__
BATCH = 100
MAX_ATTEMPTS = 10
RETRY_AFTER = timedelta(minutes=1)

TimerHandler = Callable[[Session, Row[Any], datetime], None]
HANDLERS: dict[str, TimerHandler] = {}


class UnknownKind(LookupError):
    """No handler is registered for a timer's kind (retried: a newer worker may know it)."""


class _Lost(Exception):
    """Another worker marked the timer done first: undo whatever this one did."""


def handles(kind: str) -> Callable[[TimerHandler], TimerHandler]:
    """Register ``handler(session, timer, now)`` for ``kind`` (one handler per kind)."""
    return registrar(HANDLERS, kind, "timer kind")


def due_timers(session: Session, *, now: datetime, limit: int = BATCH) -> list[Row[Any]]:
    """Pending timers due by ``now``, earliest first (read without locks; see the module doc)."""
    query = (
        select(TIMER.c.id, TIMER.c.kind, TIMER.c.case_id, TIMER.c.task_id, TIMER.c.fire_at, TIMER.c.payload,
               TIMER.c.attempts)
        .where(TIMER.c.state == "pending", TIMER.c.fire_at <= now)
        .order_by(TIMER.c.fire_at, TIMER.c.id)
        .limit(limit)
    )
    return list(session.execute(query).all())


def fire_timers(session: Session, *, now: datetime | None = None, limit: int = BATCH) -> int:
    """One batch of due timers in the caller's transaction; returns how many were tried."""
    now = now or utcnow()
    timers = due_timers(session, now=now, limit=limit)
    for timer in timers:
        try:
            with session.begin_nested():
                handler = HANDLERS.get(timer.kind)
                if handler is None:
                    raise UnknownKind(f"no handler for timer kind {timer.kind!r}")
                handler(session, timer, now)
                won = session.execute(
                    update(TIMER).where(TIMER.c.id == timer.id, TIMER.c.state == "pending")
                    .values(state="done", done_at=now)
                ).rowcount
                if not won:
                    raise _Lost
        except _Lost:
            continue
        except Exception as exc:  # a handler's failure is its timer's, not the batch's
            _failed(session, timer, exc, now)
    return len(timers)


def _failed(session: Session, timer: Row[Any], exc: Exception, now: datetime) -> None:
    attempts = timer.attempts + 1
    logger.warning("timer %s (%s) failed, attempt %s: %r", timer.id, timer.kind, attempts, exc)
    session.execute(
        update(TIMER)
        .where(TIMER.c.id == timer.id, TIMER.c.state == "pending")
        .values(attempts=attempts, state="dead" if attempts >= MAX_ATTEMPTS else "pending",
                fire_at=now + RETRY_AFTER * 2 ** (attempts - 1))
    )
