"""The per-case event chain: each event's SM3 hash covers the previous hash and the event itself.

The case row (locked by the operation) carries the chain head (``event_seq``, ``last_event_hash``),
so appending costs one INSERT whatever the case's history.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert

from xietong.cases.models import Event

EVENT = Event.__table__
_INSERT_EVENT = insert(EVENT)
GENESIS = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who does something: a person, an API client or the system; ``acting_for`` under delegation."""

    kind: str  # person | client | system
    id: int | None
    acting_for_id: int | None = None


SYSTEM = Actor("system", None)


def jsonable(value: Any) -> Any:
    """Datetimes as ISO strings, recursively; the event delta is plain JSON."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or kind is float or value is None:
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k if type(k) is str else str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def event_hash(
    prev_hash: str, *, case_id: int, seq: int, type: str, actor: Actor, at: datetime, delta: dict[str, Any]
) -> str:
    """SM3 over the previous hash and the canonical JSON of the record (its time always in UTC).

    The database gives times back in UTC whatever zone they were written in, so hashing them in UTC is what
    lets a chain written with a local-time clock verify later.
    """
    if at.tzinfo is None:
        raise ValueError("event times must be timezone-aware")
    record = {
        "case_id": case_id,
        "seq": seq,
        "type": type,
        "actor": [actor.kind, actor.id, actor.acting_for_id],
        "at": at.astimezone(UTC).isoformat(),
        "delta": delta,
    }
    payload = prev_hash + json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.new("sm3", payload.encode()).hexdigest()


def event_row(
    *,
    case_id: int,
    prev_seq: int,
    prev_hash: str,
    type: str,
    actor: Actor,
    at: datetime,
    delta: dict[str, Any],
) -> tuple[dict[str, Any], int, str]:
    """The next event of the case as a row to insert, with the new chain head (seq, hash) for the case row."""
    seq = prev_seq + 1
    prev = prev_hash or GENESIS
    delta = jsonable(delta)
    digest = event_hash(prev, case_id=case_id, seq=seq, type=type, actor=actor, at=at, delta=delta)
    row = {
        "case_id": case_id,
        "seq": seq,
        "type": type,
        "actor_kind": actor.kind,
        "actor_id": actor.id,
        "acting_for_id": actor.acting_for_id,
        "at": at,
        "delta": delta,
        "prev_hash": prev,
        "hash": digest,
        "position": None,
        "chain_hash": None,  # the sequencer links it into the global chain with its position
    }
    return row, seq, digest


def append_event(
    conn: Connection,
    *,
    case_id: int,
    prev_seq: int,
    prev_hash: str,
    type: str,
    actor: Actor,
    at: datetime,
    delta: dict[str, Any],
) -> tuple[int, str]:
    """Insert the next event of the case; returns the new chain head (seq, hash) for the case row."""
    row, seq, digest = event_row(
        case_id=case_id, prev_seq=prev_seq, prev_hash=prev_hash, type=type, actor=actor, at=at, delta=delta
    )
    conn.execute(_INSERT_EVENT, row)
    return seq, digest
