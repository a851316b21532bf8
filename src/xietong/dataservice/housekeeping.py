"""Upkeep of the data service's bookkeeping rows, so they stay small however long the system runs: idempotency
records past their 24 hours, rate windows past their minute, and the history of settled webhook deliveries and
outbound messages past the retention (``XIETONG_DELIVERY_HISTORY_DAYS``, 30 by default).

Pending and dead rows are never purged: they are work to do or for an administrator to look at. Each table loses
at most ``batch`` rows per run, so one run is a short transaction however much has piled up.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, select
from sqlalchemy.orm import Session

from xietong.dataservice.idempotency import KEEP
from xietong.dataservice.models import IdempotencyRecord, RateWindow, WebhookDelivery
from xietong.dataservice.ratelimit import WINDOW_SECONDS
from xietong.integrations.models import OutboundMessage

BATCH = 5_000
SETTLED_DELIVERIES = ("delivered", "skipped")
SETTLED_MESSAGES = ("done", "skipped")


def purge_expired(session: Session, *, now: datetime, history: timedelta = timedelta(days=30),
                  batch: int = BATCH) -> int:
    """Delete what has expired (at most ``batch`` rows a table); returns how many rows went."""
    cutoff = now - history
    removed = _delete_ids(session, IdempotencyRecord.__table__.c.id,
                          IdempotencyRecord.created_at < now - KEEP, batch)
    window = int(now.timestamp()) - 2 * WINDOW_SECONDS
    removed += session.execute(delete(RateWindow).where(RateWindow.window_start < window)).rowcount or 0
    removed += _delete_ids(session, WebhookDelivery.__table__.c.id, and_(
        WebhookDelivery.state.in_(SETTLED_DELIVERIES),
        func.coalesce(WebhookDelivery.delivered_at, WebhookDelivery.last_attempt_at, WebhookDelivery.created_at)
        < cutoff), batch)
    removed += _delete_ids(session, OutboundMessage.__table__.c.id, and_(
        OutboundMessage.state.in_(SETTLED_MESSAGES),
        func.coalesce(OutboundMessage.done_at, OutboundMessage.last_attempt_at, OutboundMessage.created_at)
        < cutoff), batch)
    return removed


def _delete_ids(session: Session, id_column: object, condition: object, batch: int) -> int:
    table = id_column.table  # type: ignore[attr-defined]
    ids = session.scalars(select(id_column).where(condition).limit(batch)).all()  # type: ignore[call-overload]
    if not ids:
        return 0
    return session.execute(delete(table).where(id_column.in_(ids))).rowcount or 0  # type: ignore[attr-defined]
