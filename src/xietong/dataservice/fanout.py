"""Webhook fan-out: the worker turns the change log, in position order, into one delivery per matching subscription.

It reads after its own cursor (``feed_cursor`` row ``webhooks``, locked for the transaction, so two workers
never fan out the same events) and writes the deliveries and the new cursor in one transaction: every event
becomes each of its deliveries exactly once. A subscription receives the events of the cases its client may
read (its units take part in them), of the types it asked for, after the moment it was created.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from xietong.cases.models import Case, Event
from xietong.dataservice.cursors import lock_cursor
from xietong.dataservice.models import ApiClient, WebhookDelivery, WebhookSubscription
from xietong.dataservice.scopes import CASES_READ
from xietong.dataservice.subscriptions import matches
from xietong.db.base import utcnow

CURSOR = "webhooks"
BATCH = 1000


def _subscriptions(session: Session) -> list[tuple[int, list[str], int, frozenset[int]]]:
    rows = session.execute(
        select(WebhookSubscription.id, WebhookSubscription.event_types, WebhookSubscription.after_position,
               ApiClient.unit_ids, ApiClient.scopes)
        .join(ApiClient, ApiClient.id == WebhookSubscription.client_pk)
        .where(WebhookSubscription.active, ApiClient.active)
    ).all()
    return [(r[0], list(r[1]), r[2], frozenset(r[3])) for r in rows if CASES_READ in r[4]]


def fan_out_webhooks(session: Session, *, batch: int = BATCH) -> int:
    """Turn up to ``batch`` sequenced events after the cursor into deliveries; returns how many events it read."""
    cursor = lock_cursor(session, CURSOR)
    events = session.execute(
        select(Event.id, Event.case_id, Event.position, Event.type, Event.at, Case.party_units)
        .join(Case, Case.id == Event.case_id)
        .where(Event.position > cursor.position)
        .order_by(Event.position)
        .limit(batch)
    ).all()
    if not events:
        return 0
    subscriptions = _subscriptions(session)
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for event in events:
        parties = {int(u) for u in event.party_units.strip(",").split(",") if u}
        for sub_id, types, after, units in subscriptions:
            if event.position > after and units & parties and matches(types, event.type):
                rows.append({
                    "subscription_id": sub_id, "event_id": event.id, "case_id": event.case_id,
                    "position": event.position, "event_type": event.type, "state": "pending", "attempts": 0,
                    "next_attempt_at": now, "committed_at": event.at, "created_at": now,
                })
    if rows:
        session.execute(insert(WebhookDelivery), rows)
    cursor.position = events[-1].position
    session.flush()
    return len(events)
