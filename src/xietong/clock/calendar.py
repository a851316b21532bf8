"""Working-day calendar for mainland China built on ``chinese_calendar`` with local overrides."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

__all__ = ["DEFAULT_TZ", "WorkCalendar", "to_utc"]

DEFAULT_TZ = "Asia/Shanghai"
_ONE_DAY = timedelta(days=1)
_EPSILON = timedelta(microseconds=1)


def to_utc(moment: datetime) -> datetime:
    """Return ``moment`` as an aware UTC datetime, raising ValueError if it is naive."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime not allowed, expected an aware UTC datetime: {moment!r}")
    return moment.astimezone(UTC)


@functools.cache
def _years_with_data() -> frozenset[int]:
    """Return the years for which the installed ``chinese_calendar`` ships holiday data."""
    holidays = getattr(chinese_calendar, "holidays", None) or {}
    return frozenset(day.year for day in holidays)


@functools.cache
def _package_covers(year: int) -> bool:
    """Return True if the installed ``chinese_calendar`` has real data for ``year``."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return year in _years_with_data()


def _require_date(day: date) -> date:
    """Reject datetimes (a UTC datetime's ``.date()`` is not the local date) and return ``day``."""
    if isinstance(day, datetime):
        raise TypeError("pass a local date, not a datetime; use WorkCalendar.local_date() first")
    return day


class WorkCalendar:
    """Decide which local dates are working days and do working-day arithmetic on them."""

    def __init__(self, overrides: Mapping[date, bool] | None = None, tz: str = DEFAULT_TZ) -> None:
        """Create a calendar; ``overrides`` maps dates to True (working) or False (day off)."""
        self.tz: str = tz
        self.zone: ZoneInfo = ZoneInfo(tz)
        self.missing_years: set[int] = set()
        self._overrides: dict[date, bool] = {
            _require_date(day): bool(working) for day, working in (overrides or {}).items()
        }
        self._cache: dict[date, bool] = {}

    def covers(self, year: int) -> bool:
        """Return True if the holiday package has official data for ``year``."""
        return _package_covers(year)

    def is_working_day(self, day: date) -> bool:
        """Return True if the local date ``day`` is a working day (cached per date)."""
        cached = self._cache.get(_require_date(day))
        if cached is None:
            cached = self._compute(day)
            self._cache[day] = cached
        return cached

    def _compute(self, day: date) -> bool:
        """Apply override, then the holiday package, then the weekends-off fallback."""
        if day in self._overrides:
            return self._overrides[day]
        if _package_covers(day.year):
            return bool(chinese_calendar.is_workday(day))
        self.missing_years.add(day.year)
        return day.weekday() < 5

    def next_working_day(self, day: date) -> date:
        """Return the first working day strictly after ``day``."""
        candidate = _require_date(day) + _ONE_DAY
        while not self.is_working_day(candidate):
            candidate += _ONE_DAY
        return candidate

    def add_working_days(self, day: date, n: int) -> date:
        """Return the n-th working day after ``day`` (``day`` itself when n == 0)."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        result = _require_date(day)
        for _ in range(n):
            result = self.next_working_day(result)
        return result

    def working_days_between(self, start: date, end: date) -> int:
        """Count working days in the half-open range (start, end]; 0 when end <= start."""
        _require_date(start)
        _require_date(end)
        span = (end - start).days
        return sum(self.is_working_day(start + timedelta(days=i)) for i in range(1, span + 1))

    def working_days_touched(self, start_dt: datetime, end_dt: datetime) -> int:
        """Count distinct local working days that the interval [start_dt, end_dt) touches."""
        start, end = to_utc(start_dt), to_utc(end_dt)
        if end <= start:
            return 0
        first = self.local_date(start)
        last = self.local_date(end - _EPSILON)
        return self.working_days_between(first - _ONE_DAY, last)

    def local_date(self, moment: datetime) -> date:
        """Return the business-time-zone calendar date of an aware datetime."""
        return to_utc(moment).astimezone(self.zone).date()

    def start_of_day(self, day: date) -> datetime:
        """Return the UTC instant of local 00:00 that starts ``day``."""
        local_midnight = datetime.combine(_require_date(day), time(0), tzinfo=self.zone)
        return local_midnight.astimezone(UTC)

    def end_of_day(self, day: date) -> datetime:
        """Return the UTC instant of local 24:00 that ends ``day`` (00:00 of the next date)."""
        return self.start_of_day(_require_date(day) + _ONE_DAY)
