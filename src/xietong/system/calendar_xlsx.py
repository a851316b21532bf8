"""The working-day overrides as .xlsx: export, and an all-or-nothing import that names every bad row.

Columns (row 1, matched by title, order free): 日期 (a date cell or ``YYYY-MM-DD`` text), 是否工作日 (是/否,
工作日/休息日, 上班/休息) and 说明 (optional, at most 200 characters). Each listed date is set (created or
replaced); dates not listed keep their overrides. If any row is bad nothing is written and ``InvalidInput``
``import_rows_invalid`` lists every problem as ``FieldProblem(field="第 N 行", …)``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.db.base import utcnow
from xietong.errors import FieldProblem, InvalidInput
from xietong.spreadsheets import cell_text, read_workbook, unreadable
from xietong.system.calendar_admin import FIRST_YEAR, LAST_YEAR, OverrideIn, calendar_changed, check_year
from xietong.system.models import WorkdayOverride

COLUMNS = {"day": "日期", "is_working": "是否工作日", "note": "说明"}
WORKING = frozenset({"是", "工作日", "上班", "班"})
OFF = frozenset({"否", "休息日", "休息", "休"})
MAX_ROWS = 5_000
MAX_COLUMNS = 50


@dataclass(frozen=True)
class ImportSummary:
    """What an import did: overrides created and replaced."""

    created: int
    updated: int


def export_overrides(session: Session, *, year: int | None = None) -> bytes:
    """Every override (or one year's) as .xlsx in the columns import_overrides reads, by date."""
    query = select(WorkdayOverride).order_by(WorkdayOverride.day)
    if year is not None:
        check_year(year)
        query = query.where(WorkdayOverride.day.between(date(year, 1, 1), date(year, 12, 31)))
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("工作日调整")
    sheet.freeze_panes = "A2"
    sheet.append(list(COLUMNS.values()))
    for row in session.scalars(query):
        sheet.append([row.day.isoformat(), "是" if row.is_working else "否", row.note])
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def import_overrides(session: Session, *, data: bytes) -> ImportSummary:
    """Set every date the file lists; all rows or none (see the module doc)."""
    plans = _plan(_read(data))
    existing = {row.day: row for row in session.scalars(
        select(WorkdayOverride).where(WorkdayOverride.day.in_([plan.day for plan in plans]))
    )}
    for plan in plans:
        row = existing.get(plan.day)
        if row is None:
            session.add(WorkdayOverride(day=plan.day, is_working=plan.is_working, note=plan.note))
        else:
            row.is_working, row.note, row.updated_at = plan.is_working, plan.note, utcnow()
    session.flush()
    calendar_changed(session)
    return ImportSummary(created=len(plans) - len(existing), updated=len(existing))


def _plan(rows: list[tuple[int, list[object]]]) -> list[OverrideIn]:
    plans: list[OverrideIn] = []
    problems: list[FieldProblem] = []
    seen: dict[date, int] = {}
    for number, (raw_day, raw_working, raw_note) in rows:
        messages: list[str] = []
        day = _date(raw_day)
        if day is None:
            messages.append(f"日期“{cell_text(raw_day)}”无法识别，请写成 2027-01-01 这样的日期")
        elif not FIRST_YEAR <= day.year <= LAST_YEAR:
            messages.append(f"日期应在 {FIRST_YEAR} 至 {LAST_YEAR} 年之间")
        elif day in seen:
            messages.append(f"日期 {day.isoformat()} 与第 {seen[day]} 行重复")
        working_text = cell_text(raw_working)
        if working_text not in WORKING | OFF:
            messages.append(f"是否工作日应填“是”或“否”，而不是“{working_text}”" if working_text else "是否工作日为空")
        note = cell_text(raw_note)
        if len(note) > 200:
            messages.append("说明不能超过 200 个字")
        problems += [FieldProblem(field=f"第 {number} 行", message=m, code="import_row") for m in messages]
        if day is not None and not messages:
            seen[day] = number
            plans.append(OverrideIn(day=day, is_working=working_text in WORKING, note=note))
        elif day is not None:
            seen.setdefault(day, number)
    if problems:
        raise InvalidInput(
            code="import_rows_invalid",
            detail=f"有 {len({p.field for p in problems})} 行数据有误，未导入任何数据；请改正后重新导入",
            errors=problems,
        )
    return plans


def _date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_text(value).replace("/", "-").replace(".", "-")
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        return None


def _read(data: bytes) -> list[tuple[int, list[object]]]:
    """The data rows of the first sheet as (Excel row number, [日期, 是否工作日, 说明] raw values)."""
    with read_workbook(data, what="工作日调整表") as workbook:
        if not workbook.worksheets:
            raise unreadable()
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # type: ignore[union-attr]
        header = [cell_text(v) for v in next(sheet.iter_rows(max_row=1, values_only=True), ())]
        positions = _positions(header)
        rows = []
        lines = sheet.iter_rows(min_row=2, max_row=MAX_ROWS + 2, max_col=MAX_COLUMNS, values_only=True)
        for number, values in enumerate(lines, start=2):
            cells = list(values) + [None] * MAX_COLUMNS
            picked = [cells[index] if index is not None else None for index in positions]
            if any(cell_text(value) for value in picked):
                if number > MAX_ROWS + 1:
                    raise InvalidInput(code="import_too_many_rows", detail=f"表格超过 {MAX_ROWS} 行数据，请分批导入")
                rows.append((number, picked))
    if not rows:
        raise InvalidInput(code="import_no_rows", detail="表格中只有表头，没有数据行")
    return rows


def _positions(header: list[str]) -> list[int | None]:
    """Column index per COLUMNS entry (说明 may be missing); every missing required title is one problem."""
    positions: list[int | None] = []
    problems = []
    header_problem = functools.partial(FieldProblem, field="第 1 行", code="import_row")
    for name, title in COLUMNS.items():
        found = [index for index, text in enumerate(header[:MAX_COLUMNS]) if text == title]
        if len(found) > 1:
            problems.append(header_problem(message=f"列“{title}”出现了 {len(found)} 次"))
        elif not found and name != "note":
            problems.append(header_problem(message=f"缺少列：{title}"))
        positions.append(found[0] if len(found) == 1 else None)
    if problems:
        raise InvalidInput(code="import_rows_invalid", detail="表头有误，未导入任何数据", errors=problems)
    return positions
