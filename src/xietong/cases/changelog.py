"""The global change log: events get their ``position`` from one sequencer, after they commit.

Why not a sequence at insert time: on PostgreSQL, ids are handed out when a transaction inserts,
not when it commits, so a reader paging "after id N" could pass an id whose transaction commits a
moment later and miss it forever. The sequencer instead numbers only events that are already
committed, one sequencer at a time (an advisory lock on PostgreSQL; SQLite has a single writer
anyway), so positions grow in the order events became visible and a reader that pages by position
never misses one. The cost is a short delay between commit and position (the worker's tick).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import Session

from xietong.cases.models import Event
from xietong.errors import InvalidInput

EVENT = Event.__table__
MAX_CHANGES = 5_000
SEQUENCER_LOCK = 0x7869_6574  # "xiet": the advisory lock id of the one sequencer
_SET_POSITION = (
    update(EVENT).where(EVENT.c.id == bindparam("event_id")).values(position=bindparam("new_position"))
)


def sequence_events(session: Session, *, batch: int = 5_000) -> int:
    """Give positions to up to ``batch`` committed, unsequenced events (oldest id first); returns how many."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEQUENCER_LOCK})
    ids = session.scalars(select(EVENT.c.id).where(EVENT.c.position.is_(None)).order_by(EVENT.c.id).limit(batch)).all()
    if not ids:
        return 0
    last = session.scalar(select(func.max(EVENT.c.position)).where(EVENT.c.position.is_not(None))) or 0
    session.connection().execute(
        _SET_POSITION, [{"event_id": event_id, "new_position": last + i} for i, event_id in enumerate(ids, 1)]
    )
    return len(ids)


@dataclass(frozen=True)
class Change:
    position: int
    case_id: int
    seq: int
    type: str
    at: datetime
    delta: dict[str, Any]


def changes_after(session: Session, *, position: int, limit: int = 500) -> list[Change]:
    """The change log after ``position``, in order (for the data service's feed and for auditors)."""
    if not 1 <= limit <= MAX_CHANGES:
        raise InvalidInput(code="bad_limit", detail=f"每次读取的变更条数须在 1 到 {MAX_CHANGES} 之间")
    rows = session.execute(
        select(EVENT.c.position, EVENT.c.case_id, EVENT.c.seq, EVENT.c.type, EVENT.c.at, EVENT.c.delta)
        .where(EVENT.c.position > position)
        .order_by(EVENT.c.position)
        .limit(limit)
    ).all()
    return [Change(*row) for row in rows]
