"""Cursors of the change log's readers in the worker (the webhook fan-out, the documents' issue): one row each."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from xietong.dataservice.models import FeedCursor


def lock_cursor(session: Session, name: str, *, start: Any = 0) -> FeedCursor:
    """The reader's cursor, created at ``start`` (0, or an expression such as the log's head) and locked for the
    transaction: two workers never read the same events."""
    insert_ = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert_(FeedCursor).values(name=name, position=start).on_conflict_do_nothing(index_elements=["name"])
    )
    cursor = session.scalar(select(FeedCursor).where(FeedCursor.name == name).with_for_update())
    assert cursor is not None
    return cursor
