"""A person's in-app notifications: their list (keyset-paged), the unread count, marking read.

Every function takes the person's id and touches only that person's rows: nobody ever sees or marks another's.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from xietong.cases.models import Notification
from xietong.db.base import utcnow
from xietong.errors import NotFound
from xietong.pagination import Page, check_limit, decode_cursor, encode_cursor


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    title: str
    case_id: int | None
    created_at: datetime
    read_at: datetime | None


def notifications_of(
    session: Session, *, person_id: int, unread_only: bool = False, limit: int = 50, cursor: str | None = None
) -> Page[NotificationOut]:
    """The person's notifications, newest first (by id: ids grow with time)."""
    query = select(Notification).where(Notification.person_id == person_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    if cursor:
        (before_id,) = decode_cursor(cursor, (int,))
        query = query.where(Notification.id < before_id)
    rows = session.scalars(query.order_by(Notification.id.desc()).limit(check_limit(limit) + 1)).all()
    items = [NotificationOut.model_validate(row) for row in rows[:limit]]
    return Page(items=items, next_cursor=encode_cursor((items[-1].id,)) if len(rows) > limit else None)


def unread_count(session: Session, *, person_id: int) -> int:
    """How many of the person's notifications are unread."""
    query = select(func.count()).where(Notification.person_id == person_id, Notification.read_at.is_(None))
    return session.scalar(query) or 0


def mark_read(session: Session, *, person_id: int, notification_id: int) -> NotificationOut:
    """Mark one of the person's notifications read (reading it again keeps the first time); another's is 404."""
    row = session.scalars(
        select(Notification).where(Notification.id == notification_id, Notification.person_id == person_id)
    ).one_or_none()
    if row is None:
        raise NotFound(code="notification_not_found", detail="找不到该通知")
    if row.read_at is None:
        row.read_at = utcnow()
        session.flush()
    return NotificationOut.model_validate(row)


def mark_all_read(session: Session, *, person_id: int) -> int:
    """Mark every unread notification of the person read; returns how many."""
    result = session.execute(
        update(Notification)
        .where(Notification.person_id == person_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return result.rowcount or 0
