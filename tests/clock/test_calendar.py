"""Tests for the working-day calendar against real chinese_calendar data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xietong.clock.calendar import WorkCalendar, to_utc

CAL = WorkCalendar()

SPRING_FESTIVAL_2026_OFF = [date(2026, 2, d) for d in range(15, 24)]
SPRING_FESTIVAL_2026_MAKEUP = [date(2026, 2, 14), date(2026, 2, 28)]
NATIONAL_DAY_2026_OFF = [date(2026, 10, d) for d in range(1, 8)]
NATIONAL_DAY_2026_MAKEUP = [date(2026, 9, 20), date(2026, 10, 10)]


def first_uncovered_year() -> int:
    """Return the first year, from the current one on, for which chinese_calendar has no data."""
    for year in range(date.today().year, date.today().year + 100):
        try:
            chinese_calendar.is_workday(date(year, 1, 1))
        except NotImplementedError:
            return year
    pytest.skip("chinese_calendar covers the next 100 years")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """Return the UTC instant of a Asia/Shanghai wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=CAL.zone).astimezone(UTC)


def test_spring_festival_2026_days_off_and_makeup_days() -> None:
    assert not any(CAL.is_working_day(d) for d in SPRING_FESTIVAL_2026_OFF)
    assert all(CAL.is_working_day(d) for d in SPRING_FESTIVAL_2026_MAKEUP)
    assert [d.weekday() for d in SPRING_FESTIVAL_2026_MAKEUP] == [5, 5]  # both Saturdays
    assert CAL.is_working_day(date(2026, 2, 13))
    assert CAL.is_working_day(date(2026, 2, 24))
    assert not CAL.is_working_day(date(2026, 3, 1))  # ordinary Sunday


def test_national_day_2026_days_off_and_makeup_days() -> None:
    assert not any(CAL.is_working_day(d) for d in NATIONAL_DAY_2026_OFF)
    assert CAL.is_working_day(date(2026, 9, 20))  # Sunday make-up
    assert CAL.is_working_day(date(2026, 10, 10))  # Saturday make-up
    assert not CAL.is_working_day(date(2026, 9, 25))  # Mid-autumn Festival (Friday)
    assert CAL.is_working_day(date(2026, 10, 8))


def test_next_working_day_uses_makeup_and_skips_holiday() -> None:
    assert CAL.next_working_day(date(2026, 2, 13)) == date(2026, 2, 14)
    assert CAL.next_working_day(date(2026, 2, 14)) == date(2026, 2, 24)
    assert CAL.next_working_day(date(2026, 9, 30)) == date(2026, 10, 8)


def test_add_working_days() -> None:
    assert CAL.add_working_days(date(2026, 2, 15), 0) == date(2026, 2, 15)
    assert CAL.add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)
    assert CAL.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    with pytest.raises(ValueError):
        CAL.add_working_days(date(2026, 2, 13), -1)


def test_working_days_between_is_half_open() -> None:
    assert CAL.working_days_between(date(2026, 2, 13), date(2026, 2, 24)) == 2
    assert CAL.working_days_between(date(2026, 2, 12), date(2026, 2, 13)) == 1
    assert CAL.working_days_between(date(2026, 2, 13), date(2026, 2, 13)) == 0
    assert CAL.working_days_between(date(2026, 2, 24), date(2026, 2, 13)) == 0
    assert CAL.working_days_between(date(2026, 9, 30), date(2026, 10, 11)) == 3


def test_override_saturday_working_and_wednesday_off() -> None:
    saturday, wednesday = date(2026, 3, 7), date(2026, 3, 11)
    cal = WorkCalendar({saturday: True, wednesday: False, date(2026, 10, 1): True})
    assert cal.is_working_day(saturday) and not CAL.is_working_day(saturday)
    assert not cal.is_working_day(wednesday) and CAL.is_working_day(wednesday)
    assert cal.is_working_day(date(2026, 10, 1))  # override beats a statutory holiday
    assert cal.next_working_day(date(2026, 3, 6)) == saturday
    assert cal.add_working_days(date(2026, 3, 10), 1) == date(2026, 3, 12)
    assert cal.working_days_between(date(2026, 3, 6), date(2026, 3, 13)) == 5


def test_pause_over_weekend_touches_friday_and_monday() -> None:
    assert CAL.working_days_touched(local(2026, 3, 6, 15), local(2026, 3, 9, 10)) == 2
    assert CAL.working_days_touched(local(2026, 3, 7, 9), local(2026, 3, 8, 18)) == 0
    assert CAL.working_days_touched(local(2026, 3, 9, 9), local(2026, 3, 9, 11)) == 1
    assert CAL.working_days_touched(local(2026, 3, 9, 11), local(2026, 3, 9, 9)) == 0


def test_touched_interval_is_half_open_at_local_midnight() -> None:
    assert CAL.working_days_touched(local(2026, 3, 5, 10), local(2026, 3, 6)) == 1
    assert CAL.working_days_touched(local(2026, 3, 5, 10), local(2026, 3, 6, 0, 1)) == 2


def test_local_date_uses_business_time_zone() -> None:
    moment = datetime(2026, 3, 6, 17, 0, tzinfo=UTC)  # Saturday 01:00 in Shanghai
    assert CAL.local_date(moment) == date(2026, 3, 7)
    assert WorkCalendar(tz="UTC").local_date(moment) == date(2026, 3, 6)
    assert CAL.end_of_day(date(2026, 3, 6)) == datetime(2026, 3, 6, 16, 0, tzinfo=UTC)
    assert CAL.start_of_day(date(2026, 3, 6)) == datetime(2026, 3, 5, 16, 0, tzinfo=UTC)


def test_naive_datetimes_and_datetime_dates_are_rejected() -> None:
    with pytest.raises(ValueError):
        to_utc(datetime(2026, 3, 6, 12))
    with pytest.raises(ValueError):
        CAL.working_days_touched(datetime(2026, 3, 6, 12), local(2026, 3, 9))
    with pytest.raises(TypeError):
        CAL.is_working_day(datetime(2026, 3, 6, 12, tzinfo=UTC))


def test_uncovered_year_falls_back_to_weekends_and_is_recorded() -> None:
    year = first_uncovered_year()
    cal = WorkCalendar()
    assert cal.covers(2025) and not cal.covers(year)
    assert not cal.missing_years
    new_year = date(year, 1, 1)
    assert cal.is_working_day(new_year) == (new_year.weekday() < 5)
    assert cal.missing_years == {year}
    week = [new_year + timedelta(days=i) for i in range(14)]
    assert [cal.is_working_day(d) for d in week] == [d.weekday() < 5 for d in week]


def test_override_applies_in_uncovered_year() -> None:
    year = first_uncovered_year()
    new_year = date(year, 1, 1)
    cal = WorkCalendar({new_year: False})
    assert not cal.is_working_day(new_year)
    assert cal.missing_years == set()


def test_years_before_coverage_fall_back() -> None:
    cal = WorkCalendar()
    assert not cal.covers(2003)
    assert cal.is_working_day(date(2003, 10, 1))  # Wednesday; no data, so a working day
    assert 2003 in cal.missing_years


DATES = st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31))


@settings(max_examples=150, deadline=None)
@given(day=DATES, n=st.integers(min_value=1, max_value=40))
def test_add_working_days_lands_on_working_day(day: date, n: int) -> None:
    target = CAL.add_working_days(day, n)
    assert CAL.is_working_day(target)
    assert CAL.working_days_between(day, target) == n


@settings(max_examples=100, deadline=None)
@given(day=DATES)
def test_add_zero_working_days_is_identity(day: date) -> None:
    assert CAL.add_working_days(day, 0) == day
    assert CAL.working_days_between(day, day) == 0
