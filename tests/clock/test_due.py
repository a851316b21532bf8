"""Tests for due times, extensions, pauses and used/remaining working days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xietong.clock.calendar import WorkCalendar
from xietong.clock.due import (
    acceptance_day,
    due_at,
    due_date,
    extend_due,
    paused_working_days,
    remaining_working_days,
    working_days_used,
)

CAL = WorkCalendar()


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """Return the UTC instant of a Asia/Shanghai wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=CAL.zone).astimezone(UTC)


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    """Return an aware UTC datetime."""
    return datetime(year, month, day, hour, tzinfo=UTC)


def first_uncovered_year() -> int:
    """Return the first year, from the current one on, for which chinese_calendar has no data."""
    for year in range(date.today().year, date.today().year + 100):
        try:
            chinese_calendar.is_workday(date(year, 1, 1))
        except NotImplementedError:
            return year
    pytest.skip("chinese_calendar covers the next 100 years")


def reference_is_working(day: date) -> bool:
    """Independent oracle: chinese_calendar where it has data, weekdays elsewhere."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def test_friday_evening_acceptance_counts_from_monday() -> None:
    accepted = local(2026, 3, 6, 19, 30)  # Friday evening
    assert acceptance_day(accepted, CAL) == date(2026, 3, 6)
    # Mon 9, Tue 10, Wed 11 -> due at 24:00 on Wednesday = Thursday 00:00 local.
    assert due_at(accepted, 3, CAL) == utc(2026, 3, 11, 16)
    assert due_at(accepted, 3, CAL) == local(2026, 3, 12)


def test_saturday_acceptance_moves_to_monday_which_does_not_count() -> None:
    accepted = local(2026, 3, 7, 10)
    assert acceptance_day(accepted, CAL) == date(2026, 3, 9)
    assert due_at(accepted, 3, CAL) == local(2026, 3, 13)  # Tue, Wed, Thu
    assert due_at(accepted, 1, CAL) == local(2026, 3, 11)  # end of Tuesday


def test_friday_late_utc_is_saturday_in_shanghai() -> None:
    accepted = utc(2026, 3, 6, 17)  # Saturday 01:00 local
    assert due_at(accepted, 3, CAL) == due_at(local(2026, 3, 7, 10), 3, CAL)


def test_spring_festival_2026() -> None:
    before = local(2026, 2, 12, 10)  # Thursday before the break
    # Feb 13, Feb 14 (Saturday make-up), Feb 24, 25, 26.
    assert due_at(before, 5, CAL) == local(2026, 2, 27)
    assert due_at(before, 2, CAL) == local(2026, 2, 15)
    during = local(2026, 2, 18, 10)  # accepted during the holiday -> acceptance day Feb 24
    assert acceptance_day(during, CAL) == date(2026, 2, 24)
    assert due_at(during, 3, CAL) == local(2026, 2, 28)  # Feb 25, 26, 27
    assert due_at(during, 4, CAL) == local(2026, 3, 1)  # Feb 28 is a make-up Saturday


def test_national_day_2026() -> None:
    accepted = local(2026, 9, 30, 9)
    assert due_at(accepted, 2, CAL) == local(2026, 10, 10)  # Oct 8, 9
    assert due_at(accepted, 3, CAL) == local(2026, 10, 11)  # Oct 10 is a make-up Saturday
    assert due_at(local(2026, 9, 18, 9), 1, CAL) == local(2026, 9, 21)  # Sunday Sep 20 make-up
    assert due_at(local(2026, 9, 24, 9), 1, CAL) == local(2026, 9, 29)  # Mid-autumn Fri-Sun off


def test_immediate_matter() -> None:
    wednesday = local(2026, 3, 11, 10)
    assert due_at(wednesday, 5, CAL, immediate=True) == local(2026, 3, 12)
    assert due_at(wednesday, 0, CAL) == local(2026, 3, 12)
    assert due_at(local(2026, 3, 7, 10), 0, CAL) == local(2026, 3, 10)  # Saturday -> Monday
    assert due_at(local(2026, 2, 18, 10), 0, CAL, immediate=True) == local(2026, 2, 25)
    assert working_days_used(wednesday, local(2026, 3, 11, 17), CAL) == 0


def test_due_with_overrides() -> None:
    cal = WorkCalendar({date(2026, 3, 7): True, date(2026, 3, 11): False})
    # Friday evening: Sat 7 (override working), Mon 9, Tue 10, Thu 12 (Wed 11 off).
    assert due_at(local(2026, 3, 6, 19), 4, cal) == local(2026, 3, 13)
    assert acceptance_day(local(2026, 3, 7, 10), cal) == date(2026, 3, 7)


def test_due_date_is_the_last_allowed_day() -> None:
    assert due_date(local(2026, 3, 12), CAL) == date(2026, 3, 11)
    assert due_date(local(2026, 3, 12, 0, 1), CAL) == date(2026, 3, 12)


def test_pause_over_weekend_extends_due() -> None:
    accepted = local(2026, 3, 4, 10)  # Wednesday
    due = due_at(accepted, 5, CAL)  # Thu 5, Fri 6, Mon 9, Tue 10, Wed 11
    assert due == local(2026, 3, 12)
    paused = paused_working_days(local(2026, 3, 6, 16), local(2026, 3, 9, 9), CAL)
    assert paused == 2  # Friday and Monday are touched, the weekend is free
    assert extend_due(due, paused, CAL) == local(2026, 3, 14)  # Thu 12, Fri 13


def test_paused_working_days_rounding() -> None:
    assert paused_working_days(local(2026, 3, 9, 9), local(2026, 3, 9, 10), CAL) == 1
    assert paused_working_days(local(2026, 3, 7, 9), local(2026, 3, 8, 20), CAL) == 0
    assert paused_working_days(local(2026, 2, 13, 9), local(2026, 2, 24, 9), CAL) == 3
    assert paused_working_days(local(2026, 3, 9, 10), local(2026, 3, 9, 9), CAL) == 0


def test_extend_due() -> None:
    due = local(2026, 3, 7)  # end of Friday Mar 6
    assert extend_due(due, 0, CAL) == due
    assert extend_due(due, 2, CAL) == local(2026, 3, 11)  # Mon 9, Tue 10
    assert extend_due(local(2026, 2, 14), 2, CAL) == local(2026, 2, 25)  # Sat 14, Tue 24
    with pytest.raises(ValueError):
        extend_due(due, -1, CAL)


def test_working_days_used() -> None:
    friday_evening = local(2026, 3, 6, 19)
    assert working_days_used(friday_evening, local(2026, 3, 10, 15), CAL) == 2
    assert working_days_used(friday_evening, local(2026, 3, 10, 15), CAL, paused_days=1) == 1
    assert working_days_used(friday_evening, local(2026, 3, 10, 15), CAL, paused_days=5) == 0
    assert working_days_used(local(2026, 3, 7, 10), local(2026, 3, 9, 10), CAL) == 0
    assert working_days_used(local(2026, 2, 12, 10), local(2026, 2, 24, 10), CAL) == 3
    with pytest.raises(ValueError):
        working_days_used(friday_evening, local(2026, 3, 6, 18), CAL)


def test_remaining_working_days() -> None:
    due = local(2026, 3, 12)  # end of Wednesday Mar 11
    assert remaining_working_days(local(2026, 3, 9, 10), due, CAL) == 2
    assert remaining_working_days(local(2026, 3, 7, 10), due, CAL) == 3
    assert remaining_working_days(local(2026, 3, 11, 23), due, CAL) == 0
    assert remaining_working_days(local(2026, 3, 12, 9), due, CAL) == -1
    friday_due = local(2026, 3, 14)
    assert remaining_working_days(local(2026, 3, 14, 9), friday_due, CAL) == 0
    assert remaining_working_days(local(2026, 3, 16, 9), friday_due, CAL) == -1


def test_validation() -> None:
    with pytest.raises(ValueError):
        due_at(datetime(2026, 3, 6, 12), 3, CAL)
    with pytest.raises(ValueError):
        due_at(local(2026, 3, 6, 12), -1, CAL)
    with pytest.raises(ValueError):
        paused_working_days(datetime(2026, 3, 6), local(2026, 3, 9), CAL)


def test_due_crossing_into_uncovered_year_falls_back_to_weekends() -> None:
    year = first_uncovered_year()
    cal = WorkCalendar()
    accepted = datetime(year - 1, 12, 28, 10, tzinfo=cal.zone)
    expected, counted = acceptance_day(accepted, cal), 0
    assert reference_is_working(expected)
    while counted < 10:
        expected += timedelta(days=1)
        counted += reference_is_working(expected)
    due = due_at(accepted, 10, cal)
    assert due == cal.end_of_day(expected)
    assert due_date(due, cal).year == year
    assert year in cal.missing_years
    new_year = date(year, 1, 1)
    assert cal.is_working_day(new_year) == (new_year.weekday() < 5)


ACCEPTED = st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2027, 2, 1), timezones=st.just(UTC))


@settings(max_examples=150, deadline=None)
@given(a=ACCEPTED, b=ACCEPTED, limit=st.integers(min_value=0, max_value=30), immediate=st.booleans())
def test_due_at_is_monotone_in_accepted_at(a: datetime, b: datetime, limit: int, immediate: bool) -> None:
    early, late = min(a, b), max(a, b)
    assert due_at(early, limit, CAL, immediate) <= due_at(late, limit, CAL, immediate)


@settings(max_examples=150, deadline=None)
@given(accepted=ACCEPTED, m=st.integers(min_value=0, max_value=30), k=st.integers(min_value=0, max_value=30))
def test_due_at_is_monotone_in_limit(accepted: datetime, m: int, k: int) -> None:
    small, large = min(m, k), max(m, k)
    assert due_at(accepted, small, CAL) <= due_at(accepted, large, CAL)
    if small < large:
        assert due_at(accepted, small, CAL) < due_at(accepted, large, CAL)


@settings(max_examples=100, deadline=None)
@given(accepted=ACCEPTED, limit=st.integers(min_value=0, max_value=30))
def test_used_days_at_due_day_equals_limit(accepted: datetime, limit: int) -> None:
    due = due_at(accepted, limit, CAL)
    last_moment = due - timedelta(microseconds=1)
    assert working_days_used(accepted, last_moment, CAL) == limit
    assert remaining_working_days(accepted, due, CAL) >= limit


def test_case_paused_across_the_national_day_2026_is_extended_by_the_working_days_touched() -> None:
    accepted = local(2026, 9, 28, 10)  # Monday
    due = due_at(accepted, 5, CAL)  # Sep 29, 30, Oct 8, 9, Oct 10 (a make-up Saturday)
    assert due == local(2026, 10, 11)
    paused = paused_working_days(local(2026, 9, 30, 15), local(2026, 10, 8, 9), CAL)
    assert paused == 2  # Sep 30 and Oct 8; the seven days off cost nothing
    assert extend_due(due, paused, CAL) == local(2026, 10, 14)  # Sunday Oct 11 is off: Mon 12, Tue 13


def test_case_paused_across_the_spring_festival_2026_counts_the_make_up_saturday() -> None:
    accepted = local(2026, 2, 11, 10)  # Wednesday
    due = due_at(accepted, 3, CAL)  # Feb 12, 13, Feb 14 (a make-up Saturday)
    assert due == local(2026, 2, 15)
    paused = paused_working_days(local(2026, 2, 13, 16), local(2026, 2, 24, 9), CAL)
    assert paused == 3  # Feb 13, the make-up Saturday Feb 14, Feb 24
    assert extend_due(due, paused, CAL) == local(2026, 2, 27)  # Feb 24, 25, 26
    used = working_days_used(accepted, local(2026, 2, 26, 17), CAL, paused_days=paused)
    assert used == 3
