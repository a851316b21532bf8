"""The worker's handlers for oversight: its outbox notices become notifications, due orders become overdue.

They register with the worker's registries when this module is imported (``worker/loop.py`` does):

* outbox topics ``case.urged``, ``case.copied``, ``case.supervision_ordered``, ``case.supervision_answered``,
  ``case.supervision_sent_back``, ``case.rectification_ordered``, ``case.rectification_answered``,
  ``case.rectification_sent_back`` → ``deliver_notice`` (``TOPICS``);
* timer kinds ``supervision_due`` and ``rectification_due`` → ``handle_order_due`` (``TIMER_KINDS``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from xietong.cases.models import Notification
from xietong.db.base import utcnow
from xietong.oversight.service.orders import DUE_TIMERS, mark_overdue
from xietong.worker import outbox, timers

NOTIFICATION = Notification.__table__
TOPICS = (
    "case.urged",
    "case.copied",
    *(f"case.{kind}_{what}" for kind in DUE_TIMERS for what in ("ordered", "answered", "sent_back")),
)
TIMER_KINDS = tuple(DUE_TIMERS.values())


def _get(row: Any, name: str) -> Any:
    """A column of a Core row mapping or an ORM object alike."""
    return row[name] if isinstance(row, Mapping) else getattr(row, name)


def deliver_notice(session: Session, message: Any) -> int:
    """One in-app notification per person named in the message; returns how many were written."""
    payload = _get(message, "payload")
    people = payload.get("person_ids") or []
    if not people:
        return 0
    now = utcnow()
    session.connection().execute(insert(NOTIFICATION), [
        {"person_id": p, "case_id": payload.get("case_id"), "kind": str(payload.get("kind", "notice"))[:40],
         "title": str(payload.get("title", ""))[:200], "created_at": now}
        for p in people
    ])
    return len(people)


def handle_order_due(session: Session, timer_row: Any) -> bool:
    """Timer handler: the order named in the timer's payload becomes overdue if it is still unanswered."""
    order_id = _get(timer_row, "payload").get("order_id")
    return order_id is not None and mark_overdue(session, order_id=int(order_id))


def _deliver(session: Session, payload: dict[str, Any]) -> None:
    """The outbox hands a handler the message's payload."""
    deliver_notice(session, {"payload": payload})


def _order_due(session: Session, timer: Any, now: datetime) -> None:
    handle_order_due(session, timer)


for _topic in TOPICS:
    outbox.handles(_topic)(_deliver)
for _kind in TIMER_KINDS:
    timers.handles(_kind)(_order_due)
