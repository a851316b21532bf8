"""Working-day clock: China working-day calendar, due times, pauses and warning cards."""

from xietong.clock.calendar import DEFAULT_TZ, WorkCalendar, to_utc
from xietong.clock.cards import (
    DEFAULT_THRESHOLD_DAYS,
    DEFAULT_THRESHOLD_RATIO,
    Card,
    card_for,
    red_at,
    threshold_working_days,
    yellow_at,
)
from xietong.clock.due import (
    acceptance_day,
    due_at,
    due_date,
    extend_due,
    paused_working_days,
    remaining_working_days,
    working_days_used,
)

__all__ = [
    "DEFAULT_THRESHOLD_DAYS",
    "DEFAULT_THRESHOLD_RATIO",
    "DEFAULT_TZ",
    "Card",
    "WorkCalendar",
    "acceptance_day",
    "card_for",
    "due_at",
    "due_date",
    "extend_due",
    "paused_working_days",
    "red_at",
    "remaining_working_days",
    "threshold_working_days",
    "to_utc",
    "working_days_used",
    "yellow_at",
]
