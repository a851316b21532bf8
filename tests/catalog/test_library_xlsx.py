"""The matter library as .xlsx: all-or-nothing import with every bad row reported, export, and the round trip."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

import xietong.cli.matters_xlsx  # noqa: F401  (registers ``matters import`` / ``export``)
from tests.cli.conftest import CliDb, cli_db, cli_template  # noqa: F401  (the CLI test's fixtures)
from tests.factories import City, joint_approval_process, make_city, publish_matter
from xietong.catalog import library_xlsx, linear_process
from xietong.catalog import service as catalog
from xietong.catalog.library_xlsx import COLUMNS, import_matters
from xietong.catalog.models import BaseMatter, LocalMatter, MatterVersion, ProcessDefinition
from xietong.db.session import unit_of_work
from xietong.directory.schemas import uscc_check_char
from xietong.errors import InvalidInput

HEADER = list(COLUMNS.values())


def workbook(*rows: Sequence[Any], header: Sequence[str] = HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def sheet_rows(data: bytes) -> list[tuple[Any, ...]]:
    return list(load_workbook(io.BytesIO(data)).worksheets[0].values)


def row(city: City, code: str = "M-001", **cells: Any) -> list[Any]:
    values = {
        "base_code": code,
        "name": "编制核定",
        "kind": "承诺",
        "legal": 20,
        "promised": 5,
        "region_code": city.region.code,
        "unit_code": city.units["staffing"].code,
        "uscc": None,
        "materials": "APPLY:申请书；PLAN:方案:非必要",
        "steps": "受理；审核；审批",
        "process_kind": None,
        "fee": 0,
        "trips": 1,
        **cells,
    }
    return [values[name] for name in COLUMNS]


@pytest.fixture
def session(cli_db: CliDb) -> Iterator[Session]:  # noqa: F811
    """A database of this test's own: the tests count and export the whole library, which committed tests of
    other modules (left behind in the shared per-worker database) would otherwise add to."""
    with Session(cli_db.engine) as own:
        yield own
        own.rollback()


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def published(session: Session, local: LocalMatter) -> MatterVersion:
    version = session.scalar(
        select(MatterVersion).where(MatterVersion.local_matter_id == local.id, MatterVersion.status == "published")
    )
    assert version is not None
    return version


def body_of(session: Session, version: MatterVersion) -> dict[str, Any]:
    definition = session.get(ProcessDefinition, version.process_definition_id)
    assert definition is not None
    return definition.body


def test_import_creates_base_local_and_published_version(session: Session) -> None:
    city = make_city(session)
    data = workbook(row(city, fee="12.5"), row(city, "M-002", kind="即办", legal=None, promised=None, steps="受理"))

    summary = import_matters(session, data=data)

    assert summary == library_xlsx.ImportSummary(created=2, updated=0, versions=2, unchanged=0)
    local = session.scalars(select(LocalMatter).order_by(LocalMatter.id)).first()
    assert local is not None and local.status == "published" and local.handling_unit_id == city.units["staffing"].id
    version = published(session, local)
    assert (version.kind, version.legal_limit_days, version.promised_limit_days) == ("promised", 20, 5)
    assert [(m["code"], m["name"], m["required"]) for m in version.materials] == [
        ("APPLY", "申请书", True),
        ("PLAN", "方案", False),
    ]
    body = body_of(session, version)
    steps = [("受理", "clerk"), ("审核", "section_chief"), ("审批", "leader_in_charge")]
    assert linear_process.user_tasks(body) == steps
    assert body["extensions"]["facts"] == {"fee_yuan": 12.5, "trips": 1}
    assert linear_process.version_facts(body) == (Decimal("12.5"), 1)


def test_reimport_publishes_only_what_changed(session: Session) -> None:
    city = make_city(session)
    rows = [row(city), row(city, "M-002")]
    import_matters(session, data=workbook(*rows))

    again = import_matters(session, data=workbook(*rows))
    assert again == library_xlsx.ImportSummary(created=0, updated=0, versions=0, unchanged=2)

    changed = import_matters(session, data=workbook(row(city, promised=3), row(city, "M-002", name="新名称")))
    assert changed == library_xlsx.ImportSummary(created=0, updated=2, versions=1, unchanged=0)
    assert count(session, MatterVersion) == 3
    renamed = session.scalar(select(LocalMatter).join(BaseMatter).where(BaseMatter.code == "M-002"))
    assert renamed is not None and renamed.name == "新名称"


def test_bad_rows_are_all_reported_and_nothing_is_written(session: Session) -> None:
    city = make_city(session)
    data = workbook(
        row(city),
        row(city, unit_code="nowhere"),
        row(city, "M-003", region_code="000000"),
        row(city, "M-004", promised=30),
        row(city, "M-005", materials="申请书"),
        row(city),
        row(city, "M-007", kind="加急", steps=""),
        row(city, "M-008", steps="受理；审批@nobody", fee="-1"),
    )
    with pytest.raises(InvalidInput) as caught:
        import_matters(session, data=data)

    reported = [(p.field, p.message) for p in caught.value.errors]
    assert caught.value.code == "import_rows_invalid"
    assert ("第 3 行", "实施主体编码“nowhere”不存在") in reported
    assert ("第 4 行", "行政区划代码“000000”不存在") in reported
    assert ("第 5 行", "承诺件的承诺时限（30 个工作日）不能超过法定时限（20 个工作日）") in reported
    assert any(field == "第 6 行" and "材料“申请书”格式不正确" in message for field, message in reported)
    assert ("第 7 行", "与第 2 行重复（同一事项编码、同一实施主体）") in reported
    assert ("第 8 行", "事项类型“加急”无效，应为“即办”或“承诺”") in reported
    assert ("第 8 行", "环节不能为空，多个环节用分号分隔") in reported
    assert any(field == "第 9 行" and "没有岗位 nobody" in message for field, message in reported)
    assert any(field == "第 9 行" and message.startswith("收费“-1”") for field, message in reported)
    assert "第 2 行" not in {field for field, _ in reported}
    assert count(session, BaseMatter) == count(session, LocalMatter) == 0


def test_unit_by_uscc_must_agree_with_region(session: Session) -> None:
    city, other = make_city(session), make_city(session)
    first17 = f"11{city.region.code}000000001"
    city.units["finance"].uscc = first17 + uscc_check_char(first17)
    session.flush()
    by_uscc = row(city, unit_code=None, uscc=city.units["finance"].uscc)

    assert import_matters(session, data=workbook(by_uscc)).created == 1
    with pytest.raises(InvalidInput) as caught:
        import_matters(session, data=workbook(row(city, "M-009", region_code=other.region.code)))
    staffing = city.units["staffing"].code
    assert caught.value.errors[0].message == f"实施主体 {staffing} 不属于行政区划 {other.region.code}"


def test_complex_process_is_kept_and_its_steps_cannot_be_edited(session: Session) -> None:
    city = make_city(session)
    local = publish_matter(session, city, joint_approval_process())
    exported = sheet_rows(library_xlsx.export_matters(session))
    header, line = exported[0], list(exported[1])
    assert line[header.index("流程类型")] == "复杂流程"
    assert line[header.index("环节")] == "受理审查；finance审查；hr_social审查；big_data审查；审批"

    line[header.index("收费（元）")] = 30
    assert import_matters(session, data=workbook(line)).versions == 1
    body = body_of(session, published(session, local))
    assert body["nodes"] == joint_approval_process()["nodes"]
    assert linear_process.version_facts(body) == (Decimal(30), 0)

    line[header.index("环节")] = "受理审查；审批"
    with pytest.raises(InvalidInput) as caught:
        import_matters(session, data=workbook(line))
    assert "复杂流程的环节不能在表格中修改" in caught.value.errors[0].message


def test_export_import_export_round_trip(session: Session) -> None:
    city = make_city(session)
    import_matters(
        session,
        data=workbook(
            row(city, fee="8.8", trips=0),
            row(city, "M-002", kind="即办", legal=0, promised=0, steps="受理；现场核查@clerk；决定", trips=2),
            row(city, "M-003", unit_code=city.units["finance"].code, materials=""),
        ),
    )
    first = library_xlsx.export_matters(session)
    for model in (MatterVersion, LocalMatter, BaseMatter):
        session.execute(delete(model))
    assert sheet_rows(library_xlsx.export_matters(session)) == [tuple(HEADER)]

    summary = import_matters(session, data=first)

    assert summary.created == 3
    assert sheet_rows(library_xlsx.export_matters(session)) == sheet_rows(first)
    lines = {line[0]: line for line in sheet_rows(first)[1:]}
    assert lines["M-002"][HEADER.index("环节")] == "受理；现场核查@clerk；决定"
    assert lines["M-001"][HEADER.index("收费（元）")] == 8.8


def test_cli_imports_with_report_and_exports(cli_db: CliDb, tmp_path: Path) -> None:  # noqa: F811
    with unit_of_work(cli_db.engine) as session:
        city = make_city(session)
        good, bad = row(city), row(city, "M-002", unit_code="nowhere")
    source = tmp_path / "in.xlsx"
    source.write_bytes(workbook(good, bad))

    refused = cli_db.run("matters", "import", str(source))
    assert refused.exit_code == 1
    assert "第 3 行" in refused.output and "实施主体编码“nowhere”不存在" in refused.output

    source.write_bytes(workbook(good))
    result = cli_db.run("matters", "import", str(source))
    assert result.exit_code == 0, result.output
    assert "新增 1 项" in result.output and "发布 1 个新版本" in result.output

    target = tmp_path / "out.xlsx"
    assert cli_db.run("matters", "export", "-o", str(target)).exit_code == 0
    assert sheet_rows(target.read_bytes())[1][:2] == ("M-001", "编制核定")


def test_a_local_matter_without_versions_gets_its_first_version(session: Session) -> None:
    city = make_city(session)
    base = catalog.create_base_matter(session, code="M-001", name="编制核定", kind="promised", legal_limit_days=20)
    catalog.create_local_matter(
        session, base=base, region_id=city.region.id, handling_unit_id=city.units["staffing"].id
    )

    summary = import_matters(session, data=workbook(row(city)))

    assert summary == library_xlsx.ImportSummary(created=0, updated=1, versions=1, unchanged=0)
    assert count(session, LocalMatter) == 1

