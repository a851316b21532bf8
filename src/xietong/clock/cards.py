"""Yellow/red warning cards (黄牌/红牌) derived from a matter's due time and working-day calendar.

A matter is red strictly after its due instant.  It is yellow while not red and the remaining
working days -- the working days from today through the due day, counting today when it is a
working day -- are at most the threshold ``max(threshold_days, threshold_ratio * limit_days)``
(defaults 1 day and 20 %).  Remaining days only drop at local midnight, so the card turns
yellow at the start of a local day; when the preceding days are non-working that is the end of
the last working day before them (e.g. Saturday 00:00 for a Monday due day with threshold 1).
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from enum import StrEnum

from xietong.clock.calendar import WorkCalendar, to_utc
from xietong.clock.due import due_date

__all__ = [
    "DEFAULT_THRESHOLD_DAYS",
    "DEFAULT_THRESHOLD_RATIO",
    "Card",
    "card_for",
    "red_at",
    "threshold_working_days",
    "yellow_at",
]

DEFAULT_THRESHOLD_DAYS = 1.0
DEFAULT_THRESHOLD_RATIO = 0.2
_ONE_DAY = timedelta(days=1)
_FLOAT_SLACK = 1e-9


class Card(StrEnum):
    """Warning card colour of a matter."""

    NONE = "none"
    YELLOW = "yellow"
    RED = "red"


def threshold_working_days(
    limit_days: int, threshold_days: float | None = None, threshold_ratio: float | None = None
) -> int:
    """Return the yellow threshold as whole working days: floor(max(days, ratio * limit))."""
    days = DEFAULT_THRESHOLD_DAYS if threshold_days is None else threshold_days
    ratio = DEFAULT_THRESHOLD_RATIO if threshold_ratio is None else threshold_ratio
    if days < 0 or ratio < 0 or limit_days < 0:
        raise ValueError("limit_days and thresholds must be >= 0")
    return math.floor(max(days, ratio * limit_days) + _FLOAT_SLACK)


def _remaining_including_today(today: date, last: date, cal: WorkCalendar) -> int:
    """Count working days in [today, last]; 0 once today is past ``last``."""
    return cal.working_days_between(today - _ONE_DAY, last)


def card_for(
    now: datetime,
    due: datetime,
    limit_days: int,
    cal: WorkCalendar,
    threshold_days: float | None = None,
    threshold_ratio: float | None = None,
) -> Card:
    """Return RED after ``due``, YELLOW when remaining working days <= threshold, else NONE."""
    if to_utc(now) > to_utc(due):
        return Card.RED
    threshold = threshold_working_days(limit_days, threshold_days, threshold_ratio)
    remaining = _remaining_including_today(cal.local_date(now), due_date(due, cal), cal)
    return Card.YELLOW if remaining <= threshold else Card.NONE


def _nth_working_day_back(last: date, n: int, cal: WorkCalendar) -> date:
    """Return the n-th working day counting backwards from ``last`` inclusive (n >= 1)."""
    day, found = last, 0
    while True:
        if cal.is_working_day(day):
            found += 1
            if found == n:
                return day
        day -= _ONE_DAY


def yellow_at(
    due: datetime,
    limit_days: int,
    cal: WorkCalendar,
    threshold_days: float | None = None,
    threshold_ratio: float | None = None,
) -> datetime:
    """Return the UTC instant the card turns yellow (may precede acceptance: yellow at once).

    That is the end of the (threshold + 1)-th working day counted back from the due day, which
    for a zero threshold is the due instant itself.
    """
    threshold = threshold_working_days(limit_days, threshold_days, threshold_ratio)
    return cal.end_of_day(_nth_working_day_back(due_date(due, cal), threshold + 1, cal))


def red_at(due: datetime) -> datetime:
    """Return the UTC instant after which the card is red (the due instant itself)."""
    return to_utc(due)
