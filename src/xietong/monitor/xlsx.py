"""Any monitoring table, or several, as an .xlsx workbook (write-only: a long case list streams row by row)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from io import BytesIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from xietong.monitor.tables import Table

SHEET_TITLE_LIMIT = 31  # Excel's limit on a sheet name


def workbook(tables: Sequence[Table], *, title: str) -> bytes:
    """The tables as sheets of one workbook: bold headers, rates as percentages, local times as dates."""
    book = Workbook(write_only=True)
    book.properties.title = title
    for table in tables:
        sheet = book.create_sheet(table.title[:SHEET_TITLE_LIMIT])
        sheet.freeze_panes = "A2"
        header = []
        for text in table.headers:
            cell = WriteOnlyCell(sheet, value=text)
            cell.font = Font(bold=True)
            header.append(cell)
        sheet.append(header)
        for row in table.rows:
            sheet.append([_cell(sheet, value, i in table.percent) for i, value in enumerate(row)])
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(sheet: object, value: object, percent: bool) -> object:
    if percent and value is not None:
        cell = WriteOnlyCell(sheet, value=value)  # type: ignore[arg-type]
        cell.number_format = "0.00%"
        return cell
    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=value)  # type: ignore[arg-type]
        cell.number_format = "yyyy-mm-dd hh:mm"
        return cell
    return value
