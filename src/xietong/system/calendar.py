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
_cache: dict[tuple[str, str], tuple[float, WorkCalendar]] = {}


def work_calendar(conn: Connection, tz: str) -> WorkCalendar:
    """The calendar with the current overrides (cached for a minute)."""
    key = (conn.engine.url.render_as_string(hide_password=True), tz)
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit is not None and now - hit[0] < TTL_SECONDS:
            return hit[1]
    rows = conn.execute(select(WorkdayOverride.day, WorkdayOverride.is_working)).all()
    calendar = WorkCalendar({day: working for day, working in rows}, tz=tz)
    with _lock:
        _cache[key] = (now, calendar)
    return calendar


def forget_calendars() -> None:
    """Drop cached calendars (after an override changes)."""
    with _lock:
        _cache.clear()
