"""The global change log: events get their ``position`` from one sequencer, after they commit.

Why not a sequence at insert time: on PostgreSQL, ids are handed out when a transaction inserts,
not when it commits, so a reader paging "after id N" could pass an id whose transaction commits a
moment later and miss it forever. The sequencer instead numbers only events that are already
committed, one sequencer at a time (an advisory lock on PostgreSQL; SQLite has a single writer
anyway), so positions grow in the order events became visible and a reader that pages by position
never misses one. The cost is a short delay between commit and position (the worker's tick).

The sequencer also extends the global SM3 chain over all events (``security/audit_chain.py``): each event's
``chain_hash`` links the previous one's with its position and its own per-case hash, in the same UPDATE
that gives the position, under the same lock. Events sequenced before the chain existed are chained
first, a batch per tick, before new ones are numbered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import Session

from xietong.cases.models import Event
from xietong.errors import InvalidInput
from xietong.security.audit_chain import EVENTS, chain_link, lock_head, set_head

EVENT = Event.__table__
MAX_CHANGES = 5_000
SEQUENCER_LOCK = 0x7869_6574  # "xiet": the advisory lock id of the one sequencer
_SET_POSITION = (
    update(EVENT)
    .where(EVENT.c.id == bindparam("event_id"))
    .values(position=bindparam("new_position"), chain_hash=bindparam("new_chain"))
)
_SET_CHAIN = update(EVENT).where(EVENT.c.id == bindparam("event_id")).values(chain_hash=bindparam("new_chain"))


def sequence_events(session: Session, *, batch: int = 5_000) -> int:
    """Give positions to up to ``batch`` committed, unsequenced events (oldest id first); returns how many."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEQUENCER_LOCK})
    chained, chain = lock_head(session, EVENTS)
    last = session.scalar(select(func.max(EVENT.c.position)).where(EVENT.c.position.is_not(None))) or 0
    if chained < last:  # events numbered before the chain existed: chain those first
        return _catch_up(session, chained, chain, batch)
    rows = session.execute(
        select(EVENT.c.id, EVENT.c.hash).where(EVENT.c.position.is_(None)).order_by(EVENT.c.id).limit(batch)
    ).all()
    if not rows:
        return 0
    params = []
    for i, (event_id, own_hash) in enumerate(rows, 1):
        chain = chain_link(chain, last + i, own_hash)
        params.append({"event_id": event_id, "new_position": last + i, "new_chain": chain})
    session.connection().execute(_SET_POSITION, params)
    set_head(session, EVENTS, last + len(rows), chain)
    return len(rows)


def _catch_up(session: Session, chained: int, chain: str, batch: int) -> int:
    rows = session.execute(
        select(EVENT.c.id, EVENT.c.position, EVENT.c.hash)
        .where(EVENT.c.position > chained)
        .order_by(EVENT.c.position)
        .limit(batch)
    ).all()
    params = []
    for event_id, position, own_hash in rows:
        chain = chain_link(chain, position, own_hash)
        params.append({"event_id": event_id, "new_chain": chain})
    session.connection().execute(_SET_CHAIN, params)
    set_head(session, EVENTS, rows[-1].position, chain)
    return len(rows)


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
