"""``xietong directory``: .xlsx imports that print every bad row and write nothing, exports that round-trip."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from tests.cli.conftest import CliDb
from xietong.db.session import unit_of_work
from xietong.directory import service as directory
from xietong.directory.models import Membership, Person, Unit
from xietong.directory.schemas import RegionIn

REGION = "339901"
UNIT_HEADER = ["单位编码", "单位名称", "简称", "上级单位编码", "行政区划代码", "职能", "统一社会信用代码"]
PEOPLE_HEADER = ["工号", "用户名", "姓名", "手机", "单位编码", "岗位编码"]


def write_book(path: Path, header: Sequence[str], *rows: Sequence[Any]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def unit_row(code: str, name: str, parent: str = "", region: str = REGION) -> list[str]:
    return [code, name, "", parent, region, "", ""]


def count(cli_db: CliDb, model: type) -> int:
    with unit_of_work(cli_db.engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def region(cli_db: CliDb) -> CliDb:
    with unit_of_work(cli_db.engine) as session:
        directory.create_region(session, data=RegionIn(code=REGION, name="测试市", level="city"))
    return cli_db


@pytest.fixture
def units_file(region: CliDb) -> Path:
    """A child listed before its parent: the import writes parents first."""
    return write_book(
        region.data_dir / "units.xlsx",
        UNIT_HEADER,
        unit_row("T-FIN-1", "预算科", "T-FIN"),
        unit_row("T-FIN", "测试市财政局"),
        unit_row("T-HR", "测试市人社局"),
    )


def test_import_units_writes_every_row_and_says_how_many(region: CliDb, units_file: Path) -> None:
    result = region.run("directory", "import-units", str(units_file))
    assert result.exit_code == 0, result.output
    assert "导入完成：新增 3 个单位，更新 0 个单位" in result.output
    with unit_of_work(region.engine) as session:
        fin = directory.unit_by_code(session, code="T-FIN")
        budget = directory.unit_by_code(session, code="T-FIN-1")
        assert fin is not None and budget is not None and budget.path == f"/{fin.id}/{budget.id}/"


def test_import_units_prints_every_bad_row_and_writes_nothing(region: CliDb) -> None:
    bad = write_book(
        region.data_dir / "bad.xlsx",
        UNIT_HEADER,
        unit_row("T-OK", "正常单位"),
        unit_row("T-A", "某局", region="000000"),
        unit_row("T-B", "某科", parent="T-NOWHERE"),
        ["T-C", "", "", "", REGION, "", "91330000ABC"],
    )
    result = region.run("directory", "import-units", str(bad))
    assert result.exit_code == 1
    output = result.output
    assert "有 3 行数据有误，未导入任何数据" in output
    rows = [line for line in output.splitlines() if line.startswith("│ 第")]
    assert [line.split("│")[1].strip() for line in rows] == ["第 3 行", "第 4 行", "第 5 行", "第 5 行"]
    assert "行政区划代码 000000 不存在" in rows[0]
    assert "上级单位编码 T-NOWHERE 不存在" in rows[1]
    assert "统一社会信用代码" in output and "单位名称" in output
    assert count(region, Unit) == 0


def test_an_unreadable_file_is_refused_with_a_reason(region: CliDb) -> None:
    fake = region.data_dir / "units.xlsx"
    fake.write_text("单位编码,单位名称\nT-A,某局\n", encoding="utf-8")
    result = region.run("directory", "import-units", str(fake))
    assert result.exit_code == 1 and "无法读取该文件" in result.output
    assert region.run("directory", "import-units", str(region.data_dir / "missing.xlsx")).exit_code == 2


def test_import_people_creates_then_updates_and_shows_progress_on_a_terminal(region: CliDb, units_file: Path) -> None:
    assert region.run("directory", "import-units", str(units_file)).exit_code == 0
    people = write_book(
        region.data_dir / "people.xlsx",
        PEOPLE_HEADER,
        ["E001", "zhang", "张三", "13800000001", "T-FIN", "clerk"],
        ["E001", "zhang", "张三", "13800000001", "T-FIN-1", "section_chief"],
        ["E002", "li", "李四", "", "T-HR", ""],
    )
    result = region.run("directory", "import-people", str(people))
    assert result.exit_code == 0, result.output
    assert "新增 2 名人员，更新 0 名人员" in result.output
    assert (count(region, Person), count(region, Membership)) == (2, 3)
    terminal = {**region.env, "TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1"}
    again = region.run("directory", "import-people", str(people), env=terminal)
    assert again.exit_code == 0, again.output
    shown = click.unstyle(again.output)
    assert "写入" in shown and "2/2" in shown
    assert "新增 0 名人员，更新 2 名人员" in shown


def test_import_people_with_bad_rows_writes_nothing(region: CliDb, units_file: Path) -> None:
    assert region.run("directory", "import-units", str(units_file)).exit_code == 0
    people = write_book(
        region.data_dir / "people.xlsx",
        PEOPLE_HEADER,
        ["E001", "zhang", "张三", "", "T-FIN", "clerk"],
        ["E002", "li", "李四", "12345", "T-HR", ""],
        ["E003", "zhang", "王五", "", "T-HR", ""],
        ["E004", "zhao", "赵六", "", "T-NOWHERE", ""],
    )
    result = region.run("directory", "import-people", str(people))
    assert result.exit_code == 1, result.output
    rows = [line for line in result.output.splitlines() if line.startswith("│ 第")]
    assert [line.split("│")[1].strip() for line in rows] == ["第 3 行", "第 4 行", "第 5 行"]
    assert "电话号码格式不正确" in rows[0]
    assert "用户名 zhang 与第 2 行（工号 E001）重复" in rows[1]
    assert "单位编码 T-NOWHERE 不存在" in rows[2]
    assert count(region, Person) == 0


def test_export_then_import_round_trips_and_an_existing_file_needs_force(region: CliDb, units_file: Path) -> None:
    assert region.run("directory", "import-units", str(units_file)).exit_code == 0
    target = region.data_dir / "exported.xlsx"
    result = region.run("directory", "export-units", "--output", str(target))
    assert result.exit_code == 0, result.output
    rows = list(load_workbook(io.BytesIO(target.read_bytes())).worksheets[0].values)
    assert list(rows[0]) == UNIT_HEADER
    assert [row[0] for row in rows[1:]] == ["T-FIN", "T-FIN-1", "T-HR"]
    assert region.run("directory", "export-units", "--output", str(target)).exit_code == 2
    assert region.run("directory", "export-units", "--output", str(target), "--force").exit_code == 0
    back = region.run("directory", "import-units", str(target))
    assert back.exit_code == 0 and "新增 0 个单位，更新 3 个单位" in back.output


def test_export_people_writes_one_row_per_membership(region: CliDb, units_file: Path) -> None:
    assert region.run("directory", "import-units", str(units_file)).exit_code == 0
    people = write_book(
        region.data_dir / "people.xlsx",
        PEOPLE_HEADER,
        ["E001", "zhang", "张三", "", "T-FIN", "clerk"],
        ["E001", "zhang", "张三", "", "T-HR", ""],
    )
    assert region.run("directory", "import-people", str(people)).exit_code == 0
    target = region.data_dir / "out" / "people.xlsx"
    target.parent.mkdir()
    assert region.run("directory", "export-people", "-o", str(target)).exit_code == 0
    rows = list(load_workbook(target).worksheets[0].values)
    assert rows[1:] == [
        ("E001", "zhang", "张三", None, "T-FIN", "clerk"),
        ("E001", "zhang", "张三", None, "T-HR", None),
    ]
    assert not list(target.parent.glob("*.part"))
