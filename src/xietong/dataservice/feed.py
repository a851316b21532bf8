"""The change feed: every committed change in commit order, paged by the sequencer's ``event.position``.

The cursor is the last position a reader has seen. Positions are given only to committed events and only ever
grow (``cases/changelog.py``), so "after N" misses nothing and repeats nothing, whatever outage came between
two reads. A reader sees the changes of the cases it may read (``visible_cases``), a client those its units
take part in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.cases.models import Case, Event
from xietong.errors import InvalidInput
from xietong.security.permissions import visible_cases
from xietong.security.principal import Principal

MAX_LIMIT = 1000


@dataclass(frozen=True)
class FeedItem:
    position: int
    event_id: int
    case_id: int
    case_number: str
    seq: int
    type: str
    actor_kind: str
    actor_id: int | None
    at: datetime
    delta: dict[str, Any]


@dataclass(frozen=True)
class FeedPage:
    items: list[FeedItem]
    next_cursor: str  # the last position returned, or the one given when nothing is new: always resumable
    has_more: bool


def parse_cursor(cursor: str | None) -> int:
    if cursor is None or cursor == "":
        return 0
    if not cursor.isdigit() or len(cursor) > 18:
        raise InvalidInput(code="bad_cursor", detail="游标无效：应为上一页返回的 next_cursor")
    return int(cursor)


def changes(session: Session, *, principal: Principal, after: str | None, limit: int = 500) -> FeedPage:
    """Up to ``limit`` changes after the cursor, oldest first, of the cases the principal may read."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(code="bad_limit", detail=f"每页条数须在 1 到 {MAX_LIMIT} 之间")
    position = parse_cursor(after)
    rows = session.execute(
        select(
            Event.position, Event.id, Event.case_id, Case.number, Event.seq, Event.type, Event.actor_kind,
            Event.actor_id, Event.at, Event.delta,
        )
        .join(Case, Case.id == Event.case_id)
        .where(Event.position > position, visible_cases(principal))
        .order_by(Event.position)
        .limit(limit + 1)
    ).all()
    items = [FeedItem(*row) for row in rows[:limit]]
    next_cursor = str(items[-1].position) if items else str(position)
    return FeedPage(items, next_cursor, len(rows) > limit)
