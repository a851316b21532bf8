"""Administering the working-day calendar: the year view with each day's source, and single-day overrides.

Every change clears the cached calendars of this process (``forget_calendars``) at once and again after the
transaction commits; other processes notice it by the overrides' fingerprint (``system.calendar``).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

import chinese_calendar
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from xietong.clock.calendar import WorkCalendar
from xietong.db.base import utcnow
from xietong.errors import InvalidInput, NotFound
from xietong.system.calendar import forget_calendars
from xietong.system.models import WorkdayOverride

FIRST_YEAR, LAST_YEAR = 2000, 2100
WEEKDAYS = "一二三四五六日"
_HOLIDAY_NAMES = {holiday.value: holiday.chinese for holiday in chinese_calendar.Holiday}

Source = Literal["package", "override", "fallback"]


class DayOut(BaseModel):
    """One date as the clock sees it, and why."""

    day: date
    weekday: str  # 一 … 日
    is_working: bool
    source: Source  # override: the administrator's word; package: chinesecalendar; fallback: weekends only
    holiday: str = ""  # the statutory holiday the package ties the date to (a day off or its 调休 make-up day)
    note: str = ""


class YearOut(BaseModel):
    """A year of the calendar; ``holidays_known`` is false when the package has no statutory holidays for it."""

    year: int
    holidays_known: bool
    warning: str = ""
    working_days: int
    overrides: int
    days: list[DayOut]


class OverrideIn(BaseModel):
    """An administrator's word on one date."""

    model_config = ConfigDict(extra="forbid")

    day: date
    is_working: bool
    note: str = Field(default="", max_length=200)


def holidays_known(year: int) -> bool:
    """Whether the installed holiday package has the statutory holidays of ``year``."""
    return WorkCalendar().covers(year)


def missing_holidays_warning(year: int) -> str:
    return (
        f"日历数据包没有 {year} 年的法定节假日安排：该年目前只按周末休息计算。"
        f"请在国务院办公厅公布放假安排后，逐日录入节假日和调休上班日（或导入 .xlsx），或升级 chinesecalendar。"
    )


def calendar_year(session: Session, *, year: int) -> YearOut:
    """Every date of ``year``: working or not, where that comes from, and a warning if holidays are missing."""
    check_year(year)
    first, last = date(year, 1, 1), date(year, 12, 31)
    rows = session.scalars(select(WorkdayOverride).where(WorkdayOverride.day.between(first, last))).all()
    overrides = {row.day: row for row in rows}
    calendar = WorkCalendar({row.day: row.is_working for row in rows})
    known = calendar.covers(year)
    days = [_day_out(first + timedelta(days=i), calendar, overrides, known) for i in range((last - first).days + 1)]
    return YearOut(
        year=year,
        holidays_known=known,
        warning="" if known else missing_holidays_warning(year),
        working_days=sum(day.is_working for day in days),
        overrides=len(overrides),
        days=days,
    )


def calendar_day(session: Session, *, day: date) -> DayOut:
    """One date as the clock sees it now."""
    check_year(day.year)
    row = session.get(WorkdayOverride, day)
    overrides = {day: row} if row is not None else {}
    calendar = WorkCalendar({day: row.is_working} if row is not None else None)
    return _day_out(day, calendar, overrides, calendar.covers(day.year))


def set_override(session: Session, *, data: OverrideIn) -> DayOut:
    """Make ``data.day`` a working day or a day off, whatever the package says (created or replaced)."""
    check_year(data.day.year)
    row = session.get(WorkdayOverride, data.day)
    if row is None:
        session.add(WorkdayOverride(day=data.day, is_working=data.is_working, note=data.note.strip()))
    else:
        row.is_working, row.note, row.updated_at = data.is_working, data.note.strip(), utcnow()
    session.flush()
    calendar_changed(session)
    return calendar_day(session, day=data.day)


def clear_override(session: Session, *, day: date) -> DayOut:
    """Drop the override of ``day``: the package (or the weekend fallback) decides again."""
    row = session.get(WorkdayOverride, day)
    if row is None:
        raise NotFound(code="override_not_found", detail=f"{day.isoformat()} 没有人工设置，无需清除")
    session.delete(row)
    session.flush()
    calendar_changed(session)
    return calendar_day(session, day=day)


def calendar_changed(session: Session) -> None:
    """Clear the cached calendars now and once more when the transaction commits (a rebuild in between is stale)."""
    forget_calendars()
    if not event.contains(session, "after_commit", _forget_after_commit):
        event.listen(session, "after_commit", _forget_after_commit, once=True)


def _forget_after_commit(_session: Session) -> None:
    forget_calendars()


def _day_out(day: date, calendar: WorkCalendar, overrides: dict[date, WorkdayOverride], known: bool) -> DayOut:
    row = overrides.get(day)
    source: Source = "override" if row is not None else "package" if known else "fallback"
    return DayOut(
        day=day,
        weekday=WEEKDAYS[day.weekday()],
        is_working=calendar.is_working_day(day),
        source=source,
        holiday=_holiday_name(day) if known else "",
        note=row.note if row is not None else "",
    )


def _holiday_name(day: date) -> str:
    _on_holiday, name = chinese_calendar.get_holiday_detail(day)
    return _HOLIDAY_NAMES.get(name, "") if name else ""


def check_year(year: int) -> None:
    """A year the calendar can speak about, or a clear refusal (dates outside it are not calendar days here)."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(code="calendar_year_out_of_range", detail=f"年份应在 {FIRST_YEAR} 至 {LAST_YEAR} 之间")
