"""The working calendar every process uses: chinese_calendar defaults plus the admin's overrides.

Overrides change rarely, so the built calendar is kept per database for ``TTL_SECONDS``; an admin
change in this process clears it at once, other processes pick it up within the TTL.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import Connection, select

from xietong.clock.calendar import WorkCalendar
from xietong.system.models import WorkdayOverride

TTL_SECONDS = 60.0
_lock = threading.Lock()
_cache: dict[tuple[object, str], tuple[float, WorkCalendar]] = {}
_OVERRIDES = select(WorkdayOverride.__table__.c.day, WorkdayOverride.__table__.c.is_working)


def work_calendar(conn: Connection, tz: str) -> WorkCalendar:
    """The calendar with the current overrides (cached for a minute)."""
    key = (conn.engine.url, tz)  # a URL is an immutable, hashable value: no need to render it per call
    now = time.monotonic()
    hit = _cache.get(key)  # a dict read is atomic; the lock only guards writes and clears
    if hit is not None and now - hit[0] < TTL_SECONDS:
        return hit[1]
    rows = conn.execute(_OVERRIDES).all()
    calendar = WorkCalendar({day: working for day, working in rows}, tz=tz)
    with _lock:
        _cache[key] = (now, calendar)
    return calendar


def forget_calendars() -> None:
    """Drop cached calendars (after an override changes)."""
    with _lock:
        _cache.clear()
