"""The cached working calendar notices overrides another process committed (no cache clear in this one)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, delete, insert, update

from xietong.db.base import utcnow
from xietong.system.calendar import work_calendar
from xietong.system.models import WorkdayOverride

FAR_SUNDAY = date(2099, 1, 4)  # far enough that no other test's due times can be moved by it
TZ = "Asia/Shanghai"


def _is_working(engine: Engine) -> bool:
    with engine.connect() as conn:
        return work_calendar(conn, TZ).is_working_day(FAR_SUNDAY)


def test_an_override_written_elsewhere_is_seen_by_the_next_transaction(db_engine: Engine) -> None:
    table = WorkdayOverride.__table__
    assert _is_working(db_engine) is False  # a Sunday; and now the calendar is cached
    try:
        # What another process does: commit rows without touching this process's cache.
        with db_engine.begin() as conn:
            conn.execute(insert(table).values(day=FAR_SUNDAY, is_working=True, note="调休", updated_at=utcnow()))
        assert _is_working(db_engine) is True
        with db_engine.begin() as conn:
            conn.execute(update(table).where(table.c.day == FAR_SUNDAY).values(is_working=False, updated_at=utcnow()))
        assert _is_working(db_engine) is False
        with db_engine.begin() as conn:
            conn.execute(update(table).where(table.c.day == FAR_SUNDAY).values(is_working=True, updated_at=utcnow()))
        assert _is_working(db_engine) is True
    finally:
        with db_engine.begin() as conn:
            conn.execute(delete(table).where(table.c.day == FAR_SUNDAY))
    assert _is_working(db_engine) is False  # the delete lowered the count
