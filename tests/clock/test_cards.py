"""Tests for yellow/red warning cards and the instants they change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xietong.clock.calendar import WorkCalendar
from xietong.clock.cards import Card, card_for, red_at, threshold_working_days, yellow_at
from xietong.clock.due import due_at

CAL = WorkCalendar()
TICK = timedelta(microseconds=1)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """Return the UTC instant of a Asia/Shanghai wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=CAL.zone).astimezone(UTC)


def test_card_values() -> None:
    assert [c.value for c in Card] == ["none", "yellow", "red"]
    assert Card("yellow") is Card.YELLOW
    assert Card.RED == "red"


def test_threshold_defaults_and_overrides() -> None:
    assert threshold_working_days(5) == 1
    assert threshold_working_days(10) == 2
    assert threshold_working_days(7) == 1  # 1.4 rounds down
    assert threshold_working_days(15) == 3
    assert threshold_working_days(0) == 1
    assert threshold_working_days(10, threshold_days=3) == 3
    assert threshold_working_days(10, threshold_ratio=0.5) == 5
    assert threshold_working_days(10, threshold_days=0, threshold_ratio=0) == 0
    with pytest.raises(ValueError):
        threshold_working_days(10, threshold_days=-1)


def test_five_day_matter_turns_yellow_on_due_day_and_red_after() -> None:
    due = due_at(local(2026, 3, 4, 10), 5, CAL)  # due at end of Wednesday Mar 11
    assert card_for(local(2026, 3, 10, 23, 59), due, 5, CAL) is Card.NONE
    assert card_for(local(2026, 3, 11, 9), due, 5, CAL) is Card.YELLOW
    assert card_for(due, due, 5, CAL) is Card.YELLOW
    assert card_for(due + TICK, due, 5, CAL) is Card.RED
    assert yellow_at(due, 5, CAL) == local(2026, 3, 11)
    assert red_at(due) == due


def test_ten_day_matter_uses_twenty_percent() -> None:
    due = due_at(local(2026, 3, 2, 10), 10, CAL)  # end of Monday Mar 16
    assert due == local(2026, 3, 17)
    assert card_for(local(2026, 3, 12, 12), due, 10, CAL) is Card.NONE
    assert card_for(local(2026, 3, 13, 12), due, 10, CAL) is Card.YELLOW
    assert yellow_at(due, 10, CAL) == local(2026, 3, 13)


def test_weekend_before_due_day_is_already_yellow() -> None:
    due = due_at(local(2026, 3, 4, 10), 3, CAL)  # end of Monday Mar 9
    assert card_for(local(2026, 3, 6, 18), due, 3, CAL) is Card.NONE
    assert card_for(local(2026, 3, 7, 10), due, 3, CAL) is Card.YELLOW
    assert yellow_at(due, 3, CAL) == local(2026, 3, 7)  # = end of Friday


def test_yellow_over_spring_festival() -> None:
    due = due_at(local(2026, 2, 12, 10), 3, CAL)  # Feb 13, Feb 14 (make-up), Feb 24
    assert due == local(2026, 2, 25)
    assert card_for(local(2026, 2, 14, 10), due, 3, CAL) is Card.NONE
    assert card_for(local(2026, 2, 18, 10), due, 3, CAL) is Card.YELLOW
    assert yellow_at(due, 3, CAL) == local(2026, 2, 15)


def test_per_matter_thresholds() -> None:
    due = due_at(local(2026, 3, 2, 10), 10, CAL)  # end of Monday Mar 16
    assert card_for(local(2026, 3, 11, 12), due, 10, CAL, threshold_days=4) is Card.YELLOW
    assert yellow_at(due, 10, CAL, threshold_days=4) == local(2026, 3, 11)
    assert yellow_at(due, 10, CAL, threshold_ratio=0.5) == local(2026, 3, 10)
    assert yellow_at(due, 10, CAL, threshold_days=0, threshold_ratio=0) == due


def test_immediate_matter_is_yellow_at_once() -> None:
    accepted = local(2026, 3, 11, 10)
    due = due_at(accepted, 0, CAL, immediate=True)
    assert card_for(accepted, due, 0, CAL) is Card.YELLOW
    assert yellow_at(due, 0, CAL) <= accepted


def test_naive_now_is_rejected() -> None:
    due = local(2026, 3, 12)
    with pytest.raises(ValueError):
        card_for(datetime(2026, 3, 11, 9), due, 5, CAL)


ACCEPTED = st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2027, 2, 1), timezones=st.just(UTC))


@settings(max_examples=200, deadline=None)
@given(
    accepted=ACCEPTED,
    limit=st.integers(min_value=0, max_value=30),
    days=st.none() | st.floats(min_value=0, max_value=6),
    ratio=st.none() | st.floats(min_value=0, max_value=0.6),
)
def test_card_for_and_yellow_at_agree(accepted: datetime, limit: int, days: float | None, ratio: float | None) -> None:
    due = due_at(accepted, limit, CAL)
    turn = yellow_at(due, limit, CAL, days, ratio)
    assert turn <= due
    assert card_for(turn - TICK, due, limit, CAL, days, ratio) is Card.NONE
    assert card_for(turn, due, limit, CAL, days, ratio) is Card.YELLOW
    assert card_for(due, due, limit, CAL, days, ratio) is Card.YELLOW
    assert card_for(red_at(due) + TICK, due, limit, CAL, days, ratio) is Card.RED
