"""Due-time arithmetic for matters counted in working days (受理日不计入, due at 24:00 local).

Conventions used throughout this module:

* A working day ends at 24:00 local time, so a due time is the UTC instant of local 00:00 of
  the calendar day after the last allowed working day.
* The acceptance day never counts.  If a matter is accepted on a non-working day, the next
  working day is treated as the acceptance day and does not count either (so a Saturday
  acceptance with a 1-day limit is due at the end of Tuesday, not Monday).
* Immediate matters (``immediate=True`` or ``limit_days == 0``) are due at the end of the
  acceptance working day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from xietong.clock.calendar import WorkCalendar, to_utc

__all__ = [
    "acceptance_day",
    "due_at",
    "due_date",
    "extend_due",
    "paused_working_days",
    "remaining_working_days",
    "working_days_used",
]

_EPSILON = timedelta(microseconds=1)


def _require_non_negative(name: str, value: int) -> int:
    """Return ``value`` or raise ValueError if it is negative."""
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def acceptance_day(accepted_at: datetime, cal: WorkCalendar) -> date:
    """Return the working day treated as the acceptance day (next working day if accepted on a day off)."""
    day = cal.local_date(accepted_at)
    return day if cal.is_working_day(day) else cal.next_working_day(day)


def due_date(due: datetime, cal: WorkCalendar) -> date:
    """Return the local date whose end is ``due`` (the date of the instant just before it)."""
    return cal.local_date(to_utc(due) - _EPSILON)


def due_at(accepted_at: datetime, limit_days: int, cal: WorkCalendar, immediate: bool = False) -> datetime:
    """Return the UTC due instant: end of the limit_days-th working day after the acceptance day.

    The acceptance day does not count; an acceptance on a non-working day is moved to the next
    working day, which then does not count either.  Immediate matters (or ``limit_days == 0``)
    are due at the end of the acceptance working day itself.
    """
    days = 0 if immediate else _require_non_negative("limit_days", limit_days)
    return cal.end_of_day(cal.add_working_days(acceptance_day(accepted_at, cal), days))


def extend_due(due: datetime, paused_working_days: int, cal: WorkCalendar) -> datetime:
    """Move ``due`` to the end of the N-th working day after its due day (unchanged when N == 0)."""
    if _require_non_negative("paused_working_days", paused_working_days) == 0:
        return to_utc(due)
    return cal.end_of_day(cal.add_working_days(due_date(due, cal), paused_working_days))


def paused_working_days(paused_at: datetime, resumed_at: datetime, cal: WorkCalendar) -> int:
    """Count whole working days touched by a pause (same working day = 1, only days off = 0).

    Any part of a working day counts as a whole day; the pause is half-open, so resuming at
    exactly local 00:00 does not touch the day that midnight begins.
    """
    return cal.working_days_touched(paused_at, resumed_at)


def working_days_used(accepted_at: datetime, concluded_at: datetime, cal: WorkCalendar, paused_days: int = 0) -> int:
    """Count working days after the acceptance day through the conclusion day, minus pauses, floored at 0.

    The acceptance day is the one from :func:`acceptance_day`, so a matter concluded on its
    acceptance working day (e.g. an immediate matter) uses 0 days.
    """
    if to_utc(concluded_at) < to_utc(accepted_at):
        raise ValueError("concluded_at is before accepted_at")
    _require_non_negative("paused_days", paused_days)
    start = acceptance_day(accepted_at, cal)
    used = cal.working_days_between(start, cal.local_date(concluded_at)) - paused_days
    return max(0, used)


def remaining_working_days(now: datetime, due: datetime, cal: WorkCalendar) -> int:
    """Return working days after today through the due day (0 on it, minus working days past it when overdue).

    Overdue counts are the working days in (due day, today], so the weekend right after a
    Friday due day still reads 0 and the following Monday reads -1.
    """
    today, last = cal.local_date(now), due_date(due, cal)
    if today <= last:
        return cal.working_days_between(today, last)
    return -cal.working_days_between(last, today)
