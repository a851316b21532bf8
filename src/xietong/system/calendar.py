"""The working calendar every process uses: chinese_calendar defaults plus the admin's overrides.

Overrides change rarely, so the built calendar is kept per database. Every call first reads the overrides'
fingerprint — their count and latest ``updated_at``, one aggregate over a small table, in the caller's own
transaction — and rebuilds only when it differs from the cached one. (The hot path reads the fingerprint in
the statement that locks the case, ``fingerprint_columns``, and hands it in: one round trip fewer.) So a change
committed by another process (another app host, the CLI) is seen by the very next transaction that starts after
it, and a transaction always computes with the overrides it can see. Every write to ``workday_override`` sets
``updated_at``; a delete lowers the count. An admin change in this process also clears the cache (``forget_calendars``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, func, select

from xietong.clock.calendar import WorkCalendar
from xietong.system.models import WorkdayOverride

_lock = threading.Lock()
_cache: dict[tuple[object, str], tuple[tuple[object, ...], WorkCalendar]] = {}
_table = WorkdayOverride.__table__
_OVERRIDES = select(_table.c.day, _table.c.is_working)
_FINGERPRINT = select(func.count(), func.max(_table.c.updated_at)).select_from(_table)
Fingerprint = tuple[object, ...]


def fingerprint_columns() -> tuple[Any, Any]:
    """The fingerprint as two labelled scalar subqueries, for a statement the caller runs anyway; read it back
    from the row with ``fingerprint_of``."""
    return (select(func.count()).select_from(_table).scalar_subquery().label("calendar_overrides"),
            select(func.max(_table.c.updated_at)).scalar_subquery().label("calendar_changed_at"))


def fingerprint_of(row: Mapping[str, Any]) -> Fingerprint | None:
    """The fingerprint a row selected with ``fingerprint_columns`` carries (None when it has none)."""
    if "calendar_overrides" not in row:
        return None
    return (row["calendar_overrides"], row["calendar_changed_at"])


def work_calendar(conn: Connection, tz: str, fingerprint: Fingerprint | None = None) -> WorkCalendar:
    """The calendar with the overrides this transaction sees (rebuilt only when they changed); ``fingerprint``,
    when the caller read it in this transaction already (``fingerprint_of``)."""
    key = (conn.engine.url, tz)  # a URL is an immutable, hashable value: no need to render it per call
    if fingerprint is None:
        fingerprint = tuple(conn.execute(_FINGERPRINT).one())
    hit = _cache.get(key)  # a dict read is atomic; the lock only guards writes and clears
    if hit is not None and hit[0] == fingerprint:
        return hit[1]
    rows = conn.execute(_OVERRIDES).all()
    calendar = WorkCalendar({day: working for day, working in rows}, tz=tz)
    with _lock:
        _cache[key] = (fingerprint, calendar)
    return calendar


def forget_calendars() -> None:
    """Drop cached calendars (after an override changes)."""
    with _lock:
        _cache.clear()
