"""Periods are local dates in Asia/Shanghai: their UTC bounds, and the forms refused."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from xietong.errors import InvalidInput
from xietong.monitor.filters import parse_period


def test_quarter_month_year_and_range() -> None:
    q3 = parse_period("2026q3")
    assert (q3.first, q3.last, q3.label, q3.title) == (date(2026, 7, 1), date(2026, 9, 30), "2026Q3", "2026年第3季度")
    # local midnight in Shanghai is 16:00 UTC the day before
    assert q3.bounds() == (datetime(2026, 6, 30, 16, tzinfo=UTC), datetime(2026, 9, 30, 16, tzinfo=UTC))
    assert parse_period("2026-02").last == date(2026, 2, 28)
    assert parse_period("2026-12").last == date(2026, 12, 31)
    assert (parse_period("2026").first, parse_period("2026").last) == (date(2026, 1, 1), date(2026, 12, 31))
    span = parse_period("2026-07-01..2026-07-01")
    assert span.bounds() == (datetime(2026, 6, 30, 16, tzinfo=UTC), datetime(2026, 7, 1, 16, tzinfo=UTC))


@pytest.mark.parametrize("text", ["", "2026Q5", "2026-13", "26Q1", "2026-09-31..2026-10-01", "2026-10-01..2026-09-01"])
def test_bad_periods_are_refused_in_chinese(text: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_period(text)
    assert error.value.code == "bad_period" and "统计期间" in error.value.detail
