"""The bulletin and the exports: the PDF's text carries the ranking and the worst cases; every .xlsx opens
with openpyxl and holds the numbers the service (and so the API) gives."""

from __future__ import annotations

from io import BytesIO

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy.orm import Session

from tests.monitor.conftest import NOW, Quarter
from xietong.errors import InvalidInput
from xietong.monitor.bulletin import bulletin_pdf, bulletin_xlsx, gather
from xietong.monitor.exports import export_table
from xietong.monitor.figures import figures, ranking


def sheets(data: bytes) -> dict[str, list[tuple[object, ...]]]:
    book = load_workbook(BytesIO(data), read_only=True)
    return {ws.title: [tuple(row) for row in ws.iter_rows(values_only=True)] for ws in book.worksheets}


def test_the_pdf_bulletin_ranks_units_and_lists_the_worst_cases(session: Session, quarter: Quarter) -> None:
    made = gather(session, principal=quarter.supervisor, filters=quarter.filters(), scope_name="测试县", now=NOW)
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(bulletin_pdf(made))).pages)
    assert "测试县2026年第3季度机关内部协同办事效能通报" in text
    finance, staffing = quarter.city.units["finance"].name, quarter.city.units["staffing"].name
    assert finance in text and staffing in text
    assert text.index("单位排名") < text.index(finance) < text.index(staffing)  # finance ranks first
    numbers = {r.id: r.number for r in made.late + made.overdue_open}
    assert numbers[quarter.cases["B"]] in text and numbers[quarter.cases["E"]] in text
    assert "75.00%" in text  # the on-time rate of the quarter


def test_the_xlsx_bulletin_holds_the_same_rankings(session: Session, quarter: Quarter) -> None:
    made = gather(session, principal=quarter.supervisor, filters=quarter.filters(), scope_name="测试县", now=NOW)
    book = sheets(bulletin_xlsx(made))
    assert list(book) == ["指标", "单位排名", "区域排名", "逾期未办结（当前）", "期内超期办结", "环节耗时"]
    units = book["单位排名"]
    assert units[0][:3] == ("名次", "单位", "所属区域")
    assert [(r[0], r[1], r[4], r[5]) for r in units[1:]] == [
        (row.rank, row.name, row.concluded, row.on_time) for row in made.units.rows]
    assert [r[0] for r in book["期内超期办结"][1:]] == [r.number for r in made.late]


def test_each_export_matches_the_service(session: Session, quarter: Quarter) -> None:
    found = figures(session, principal=quarter.supervisor, filters=quarter.filters(), now=NOW)
    _, data = export_table(session, principal=quarter.supervisor, filters=quarter.filters(), table="figures", now=NOW)
    [rows] = sheets(data).values()
    by_key = {row[1]: row[2] for row in rows[1:]}
    assert {c.key: by_key[c.key] for c in found.counts} == {c.key: c.value for c in found.counts}
    assert by_key["on_time_rate"] == 0.75 and by_key["median_days"] == 3.5

    regions = ranking(session, principal=quarter.reform, filters=quarter.filters(), by="region", now=NOW)
    _, data = export_table(session, principal=quarter.reform, filters=quarter.filters(), table="regions", now=NOW)
    [rows] = sheets(data).values()
    assert [(r[1], r[3], r[4]) for r in rows[1:]] == [(r.name, r.submitted, r.concluded) for r in regions.rows]

    name, data = export_table(session, principal=quarter.supervisor, filters=quarter.filters(), table="cases",
                              figure="on_time", now=NOW)
    [rows] = sheets(data).values()
    assert name == "cases-on_time-2026Q3.xlsx" and len(rows) == 1 + 3
    for table in ("units", "bottlenecks", "cards"):
        _, data = export_table(session, principal=quarter.supervisor, filters=quarter.filters(), table=table, now=NOW)
        assert sheets(data)


def test_a_case_list_needs_its_figure(session: Session, quarter: Quarter) -> None:
    with pytest.raises(InvalidInput):
        export_table(session, principal=quarter.supervisor, filters=quarter.filters(), table="cases", now=NOW)
    with pytest.raises(InvalidInput):
        export_table(session, principal=quarter.supervisor, filters=quarter.filters(), table="nonsense", now=NOW)
