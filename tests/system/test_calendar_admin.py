"""The calendar administration service: the year view and its sources, overrides, the cache they clear, .xlsx."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from io import BytesIO
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.clock.test_calendar import first_uncovered_year
from xietong.errors import InvalidInput, NotFound
from xietong.system import calendar_xlsx
from xietong.system.calendar import forget_calendars, work_calendar
from xietong.system.calendar_admin import OverrideIn, calendar_day, calendar_year, clear_override, set_override
from xietong.system.models import WorkdayOverride

FAR = 2099  # no case of any test is due that late, so overrides there cannot move another test's due times


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """A rolled-back override must not live on in the process's cached calendar."""
    forget_calendars()
    yield
    forget_calendars()


def book(*rows: Sequence[Any], header: Sequence[str] = ("日期", "是否工作日", "说明")) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_year_2026_comes_from_the_package_with_spring_festival_and_its_makeup_days(session: Session) -> None:
    year = calendar_year(session, year=2026)
    assert year.holidays_known and year.warning == ""
    days = {d.day: d for d in year.days}
    assert len(days) == 365
    assert {d.source for d in year.days} == {"package"}
    festival, makeup = days[date(2026, 2, 17)], days[date(2026, 2, 14)]
    assert (festival.is_working, festival.holiday, festival.weekday) == (False, "春节", "二")
    assert (makeup.is_working, makeup.holiday, makeup.weekday) == (True, "春节", "六")
    assert days[date(2026, 10, 10)].is_working and not days[date(2026, 10, 1)].is_working
    assert year.working_days == sum(d.is_working for d in year.days)


def test_a_year_the_package_lacks_warns_and_falls_back_to_weekends(session: Session) -> None:
    missing = first_uncovered_year()
    year = calendar_year(session, year=missing)
    assert not year.holidays_known
    assert f"没有 {missing} 年的法定节假日" in year.warning
    assert {d.source for d in year.days} == {"fallback"}
    assert all(d.is_working == (d.day.weekday() < 5) for d in year.days)


def test_an_override_wins_shows_its_note_and_clears_the_cache(session: Session) -> None:
    saturday = date(FAR, 1, 3)
    assert saturday.weekday() == 5
    assert not work_calendar(session.connection(), "Asia/Shanghai").is_working_day(saturday)  # now cached
    day = set_override(session, data=OverrideIn(day=saturday, is_working=True, note=" 调休上班 "))
    assert (day.is_working, day.source, day.note) == (True, "override", "调休上班")
    assert work_calendar(session.connection(), "Asia/Shanghai").is_working_day(saturday)
    year = calendar_year(session, year=FAR)
    assert year.overrides == 1 and [d.day for d in year.days if d.source == "override"] == [saturday]

    replaced = set_override(session, data=OverrideIn(day=saturday, is_working=False, note="改回休息"))
    assert (replaced.is_working, replaced.note) == (False, "改回休息")
    assert session.scalar(select(func.count()).select_from(WorkdayOverride).where(WorkdayOverride.day == saturday)) == 1

    cleared = clear_override(session, day=saturday)
    assert (cleared.source, cleared.is_working, cleared.note) == ("fallback", False, "")
    assert session.get(WorkdayOverride, saturday) is None


def test_clearing_a_day_without_override_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound) as caught:
        clear_override(session, day=date(FAR, 5, 5))
    assert caught.value.code == "override_not_found"


def test_years_out_of_range_are_refused(session: Session) -> None:
    with pytest.raises(InvalidInput) as caught:
        calendar_year(session, year=1899)
    assert caught.value.code == "calendar_year_out_of_range"
    with pytest.raises(InvalidInput):
        calendar_day(session, day=date(2200, 1, 1))


def test_import_sets_every_listed_day_and_export_gives_them_back(session: Session) -> None:
    set_override(session, data=OverrideIn(day=date(FAR, 1, 1), is_working=True, note="旧"))
    data = book(
        [date(FAR, 1, 1), "否", "元旦"],
        ["2099-01-02", "休息日", ""],
        ["2099/1/3", "是", "调休上班"],
    )
    summary = calendar_xlsx.import_overrides(session, data=data)
    assert (summary.created, summary.updated) == (2, 1)
    assert calendar_day(session, day=date(FAR, 1, 1)).note == "元旦"
    assert calendar_day(session, day=date(FAR, 1, 3)).is_working

    sheet = load_workbook(BytesIO(calendar_xlsx.export_overrides(session, year=FAR))).worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows == [
        ["日期", "是否工作日", "说明"],
        ["2099-01-01", "否", "元旦"],
        ["2099-01-02", "否", None],
        ["2099-01-03", "是", "调休上班"],
    ]
    again = calendar_xlsx.import_overrides(session, data=calendar_xlsx.export_overrides(session, year=FAR))
    assert (again.created, again.updated) == (0, 3)


def test_import_reports_every_bad_row_and_writes_nothing(session: Session) -> None:
    data = book(
        ["2099-02-01", "是", "好的一行"],
        ["2099-02-30", "是", ""],
        ["2099-02-02", "也许", ""],
        ["2099-02-01", "否", ""],
        ["3000-01-01", "", "x" * 201],
    )
    with pytest.raises(InvalidInput) as caught:
        calendar_xlsx.import_overrides(session, data=data)
    error = caught.value
    assert error.code == "import_rows_invalid"
    assert "有 4 行数据有误" in error.detail
    fields = [(p.field, p.message) for p in error.errors]
    assert fields[0] == ("第 3 行", "日期“2099-02-30”无法识别，请写成 2027-01-01 这样的日期")
    assert fields[1] == ("第 4 行", "是否工作日应填“是”或“否”，而不是“也许”")
    assert fields[2] == ("第 5 行", "日期 2099-02-01 与第 2 行重复")
    assert [f for f, _ in fields[3:]] == ["第 6 行"] * 3
    assert session.scalar(select(func.count()).select_from(WorkdayOverride)) == 0


def test_import_refuses_a_missing_column_an_empty_sheet_and_a_non_xlsx(session: Session) -> None:
    with pytest.raises(InvalidInput) as caught:
        calendar_xlsx.import_overrides(session, data=book(["2099-01-01"], header=("日期", "说明")))
    assert [p.message for p in caught.value.errors] == ["缺少列：是否工作日"]
    with pytest.raises(InvalidInput) as caught:
        calendar_xlsx.import_overrides(session, data=book())
    assert caught.value.code == "import_no_rows"
    with pytest.raises(InvalidInput) as caught:
        calendar_xlsx.import_overrides(session, data=b"PK not really a zip")
    assert caught.value.code == "import_file_unreadable"
