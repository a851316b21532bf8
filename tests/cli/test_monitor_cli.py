"""``xietong monitor``: the bulletin as PDF and .xlsx, a table export, and the figures on screen."""

from __future__ import annotations

from io import BytesIO

from openpyxl import load_workbook
from pypdf import PdfReader

import xietong.cli.monitor  # noqa: F401  (registers the command group on the root app)
from tests.cli.conftest import CliDb
from tests.monitor.conftest import build_quarter
from xietong.db.session import unit_of_work


def test_bulletin_export_and_figures(cli_db: CliDb) -> None:
    with unit_of_work(cli_db.engine) as session:
        quarter = build_quarter(session)
        region, staffing = quarter.city.region.code, quarter.city.units["staffing"].name
    pdf = cli_db.data_dir / "q3.pdf"
    result = cli_db.run("monitor", "bulletin", "--period", "2026Q3", "--out", str(pdf), "--region", region)
    assert result.exit_code == 0, result.output
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf.read_bytes())).pages)
    assert "2026年第3季度" in text and staffing in text
    again = cli_db.run("monitor", "bulletin", "--period", "2026Q3", "--out", str(pdf))
    assert again.exit_code != 0 and "已存在" in again.output

    xlsx = cli_db.data_dir / "q3.xlsx"
    assert cli_db.run("monitor", "bulletin", "--period", "2026Q3", "--out", str(xlsx)).exit_code == 0
    assert load_workbook(xlsx).sheetnames[1] == "单位排名"

    late = cli_db.data_dir / "late.xlsx"
    exported = cli_db.run("monitor", "export", "cases", "--period", "2026Q3", "--figure", "late", "--out", str(late))
    assert exported.exit_code == 0, exported.output
    assert len(list(load_workbook(late).worksheets[0].iter_rows(values_only=True))) == 2  # header and case B

    refreshed = cli_db.run("monitor", "refresh", "--since", "2026-01-01")
    assert refreshed.exit_code == 0 and "已汇总" in refreshed.output, refreshed.output
    assert "汇总已是最新" in cli_db.run("monitor", "refresh").output
    shown = cli_db.run("monitor", "figures", "--period", "2026Q3", "--region", region)
    assert shown.exit_code == 0 and "按时办结率" in shown.output and "75.00%" in shown.output
    bad = cli_db.run("monitor", "figures", "--period", "2026Q9")
    assert bad.exit_code == 1 and "统计期间" in bad.output
