"""Following the change log: the way an integration turns committed events into outbound messages.

Like the documents' issue and the webhook fan-out, a follower reads sequenced events after its own cursor (a
``feed_cursor`` row, locked for the transaction) and writes its messages and the new cursor in one transaction:
each event is looked at exactly once per follower, and the hot path writes nothing for integrations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xietong.cases.models import Event
from xietong.dataservice.cursors import lock_cursor


@dataclass(frozen=True)
class Committed:
    """A sequenced event, as a follower sees it."""

    id: int
    case_id: int
    seq: int
    type: str
    at: datetime
    actor_kind: str
    actor_id: int | None
    delta: dict[str, Any]
    position: int


def follow(session: Session, cursor: str, handle: Callable[[Session, Committed], None], *,
           types: frozenset[str] | None = None, batch: int = 500, until: int | None = None) -> int:
    """Hand up to ``batch`` events after ``cursor`` (only ``types`` when given; none past position ``until``
    when given — another follower's cursor this one must not overtake) to ``handle``; returns how many events the
    cursor moved over.

    A follower's cursor starts at the head of the change log the first time it runs: an integration switched on
    reports what happens from then on, not years of history in one burst.
    """
    head = select(func.coalesce(func.max(Event.position), 0)).scalar_subquery()
    row = lock_cursor(session, cursor, start=head)
    query = (
        select(Event.id, Event.case_id, Event.seq, Event.type, Event.at, Event.actor_kind, Event.actor_id,
               Event.delta, Event.position)
        .where(Event.position > row.position).order_by(Event.position).limit(batch)
    )
    if until is not None:
        query = query.where(Event.position <= until)
    events = session.execute(query).all()
    for event in events:
        if types is None or event.type in types:
            handle(session, Committed(*event))
    if events:
        row.position = events[-1].position
    return len(events)
