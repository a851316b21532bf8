"""The 五减 roll-up as an .xlsx workbook: one sheet per level (matter, unit, region), Chinese headers."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from io import BytesIO
from typing import Any

from openpyxl import Workbook

from xietong.catalog.reductions import Reduction, Rollup

FIGURE_PARTS = ("前", "后", "减少")


def export_rollup(report: Rollup) -> bytes:
    """The roll-up as .xlsx bytes; each label gives three columns: before, after and reduced."""
    figures = [f"{label}（{part}）" for label in report.labels for part in FIGURE_PARTS]
    sheets: dict[str, list[list[Any]]] = {
        "事项": [["区域", "实施单位", "事项编码", "事项名称", "期初版本", "期末版本", *figures]]
        + [
            [m.region_name, m.unit_name, m.code, m.name, m.before_number, m.after_number, *_cells(m.figures, report)]
            for m in report.matters
        ],
        "单位": [["区域", "单位编码", "实施单位", "事项数", *figures]]
        + [[g.region_name, g.code, g.name, g.matters, *_cells(g.figures, report)] for g in report.units],
        "区域": [["区划代码", "区域", "事项数", *figures]]
        + [[g.code, g.name, g.matters, *_cells(g.figures, report)] for g in report.regions],
    }
    workbook = Workbook(write_only=True)
    workbook.properties.title = f"五减统计 {report.period_from.isoformat()} 至 {report.period_to.isoformat()}"
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        sheet.freeze_panes = "A2"
        for row in rows:
            sheet.append(row)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _cells(figures: Mapping[str, Reduction], report: Rollup) -> list[int | Decimal]:
    return [_number(v) for label in report.labels for v in _parts(figures[label])]


def _parts(figure: Reduction) -> tuple[Decimal, Decimal, Decimal]:
    return figure.before, figure.after, figure.reduced


def _number(value: Decimal) -> int | Decimal:
    """Whole numbers as integers (counts, days, trips); fees keep their cents."""
    return int(value) if value == value.to_integral_value() else value
