"""``xietong calendar``: an import that prints every bad row and writes nothing, an export that round-trips."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

import xietong.cli.calendar  # noqa: F401  (registers the command group on the root app)
from tests.cli.conftest import CliDb
from xietong.db.session import unit_of_work
from xietong.security.models import AuditRecord
from xietong.system.models import WorkdayOverride


def write_book(path: Path, *rows: list[object]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["日期", "是否工作日", "说明"])
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_import_then_export_round_trips_and_is_audited(cli_db: CliDb) -> None:
    source = write_book(cli_db.data_dir / "in.xlsx", ["2099-01-03", "是", "调休上班"], ["2099-01-05", "否", ""])
    result = cli_db.run("calendar", "import", str(source))
    assert result.exit_code == 0, result.output
    assert "导入完成：新增 2 天，替换 0 天" in result.output
    with unit_of_work(cli_db.engine) as session:
        assert session.scalar(select(func.count()).select_from(WorkdayOverride)) == 2
        assert session.scalars(select(AuditRecord.action)).all() == ["calendar.overrides_imported"]
    target = cli_db.data_dir / "out.xlsx"
    exported = cli_db.run("calendar", "export", "--output", str(target), "--year", "2099")
    assert exported.exit_code == 0, exported.output
    rows = list(load_workbook(target).worksheets[0].iter_rows(values_only=True))
    assert rows == [("日期", "是否工作日", "说明"), ("2099-01-03", "是", "调休上班"), ("2099-01-05", "否", None)]
    assert cli_db.run("calendar", "export", "--output", str(target)).exit_code != 0  # exists, no --force


def test_import_prints_every_bad_row_and_writes_nothing(cli_db: CliDb) -> None:
    rows = (["2099-01-03", "是", ""], ["明天", "否", ""], ["2099-01-04", "?", ""])
    bad = write_book(cli_db.data_dir / "bad.xlsx", *rows)
    result = cli_db.run("calendar", "import", str(bad))
    assert result.exit_code == 1
    assert "有 2 行数据有误" in result.output
    assert "第 3 行" in result.output and "第 4 行" in result.output
    with unit_of_work(cli_db.engine) as session:
        assert session.scalar(select(func.count()).select_from(WorkdayOverride)) == 0
