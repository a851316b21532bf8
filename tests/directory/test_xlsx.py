"""Spreadsheet export and all-or-nothing import of units and people; workbooks are built here with openpyxl."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xietong import spreadsheets
from xietong.directory import service as directory
from xietong.directory import xlsx
from xietong.directory.models import Membership, Person, Post, Region, Unit
from xietong.directory.schemas import MembershipIn, PersonIn, RegionIn, UnitIn, uscc_check_char
from xietong.errors import InvalidInput

REGION = "339901"
UNIT_HEADER = ["单位编码", "单位名称", "简称", "上级单位编码", "行政区划代码", "职能", "统一社会信用代码"]
PEOPLE_HEADER = ["工号", "用户名", "姓名", "手机", "单位编码", "岗位编码"]


def uscc(serial: int) -> str:
    first17 = f"11{REGION}{serial:09d}"
    return first17 + uscc_check_char(first17)


def workbook(header: Sequence[Any], *rows: Sequence[Any]) -> bytes:
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


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def active(session: Session, model: type[Unit] | type[Person]) -> int:
    """What an export holds: the active rows only (other tests leave retired units and people behind)."""
    return session.scalar(select(func.count()).select_from(model).where(model.active.is_(True))) or 0


def problems(error: InvalidInput) -> list[tuple[str, str]]:
    return [(problem.field, problem.message) for problem in error.errors]


@pytest.fixture
def region(session: Session) -> Region:
    return directory.create_region(session, data=RegionIn(code=REGION, name="测试市", level="city"))


@pytest.fixture
def units(session: Session, region: Region) -> dict[str, Unit]:
    def add(code: str, name: str, parent: str | None = None, **extra: Any) -> Unit:
        data = UnitIn(code=code, name=name, parent_code=parent, region_code=REGION, **extra)
        return directory.create_unit(session, data=data)

    return {
        "fin": add("T-FIN", "测试市财政局", short_name="财政局", function="finance", uscc=uscc(1)),
        "budget": add("T-FIN-B", "预算科", "T-FIN"),
        "hr": add("T-HR", "测试市人社局", function="hr_social"),
    }


def unit_row(code: str, name: str, parent: str = "", region: str = REGION, usc: str = "") -> list[str]:
    return [code, name, "", parent, region, "", usc]


# --- units ---------------------------------------------------------------------------------------------------


def test_export_units_writes_the_chinese_header_and_parents_first(session: Session, units: dict[str, Unit]) -> None:
    rows = sheet_rows(xlsx.export_units(session))
    assert list(rows[0]) == UNIT_HEADER
    mine = [row for row in rows[1:] if str(row[0]).startswith("T-")]
    assert mine == [
        ("T-FIN", "测试市财政局", "财政局", None, REGION, "finance", uscc(1)),
        ("T-FIN-B", "预算科", None, "T-FIN", REGION, None, None),
        ("T-HR", "测试市人社局", None, None, REGION, "hr_social", None),
    ]


def test_units_round_trip_through_export_and_import(session: Session, units: dict[str, Unit]) -> None:
    before = [out.model_dump() for out in directory.units_out(session, units=list(units.values()))]
    data = xlsx.export_units(session)
    summary = xlsx.import_units(session, data=data)
    assert summary == xlsx.ImportSummary(created=0, updated=active(session, Unit))
    assert [out.model_dump() for out in directory.units_out(session, units=list(units.values()))] == before

    # The same sheet under new codes creates a copy of the tree.
    book = load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    for row in sheet.iter_rows(min_row=2):
        for cell in (row[0], row[3]):
            cell.value = f"N-{cell.value}" if cell.value else None
        row[6].value = None
    buffer = io.BytesIO()
    book.save(buffer)
    assert xlsx.import_units(session, data=buffer.getvalue()).created == summary.updated
    copy = directory.unit_by_code(session, code="N-T-FIN-B")
    assert copy is not None
    parent = directory.unit_by_code(session, code="N-T-FIN")
    assert parent is not None
    assert copy.path == f"{parent.path}{copy.id}/"


def test_children_listed_before_parents_are_written_after_them(session: Session, region: Region) -> None:
    data = workbook(
        UNIT_HEADER,
        unit_row("T-A-1-1", "一组", "T-A-1"),
        unit_row("T-A-1", "一科", "T-A"),
        unit_row("T-A", "某局", usc=uscc(7)),
    )
    calls: list[tuple[int, int]] = []
    summary = xlsx.import_units(session, data=data, progress=lambda done, total: calls.append((done, total)))
    assert summary == xlsx.ImportSummary(created=3, updated=0)
    assert calls == [(1, 3), (2, 3), (3, 3)]
    a, a1, a11 = (directory.unit_by_code(session, code=code) for code in ("T-A", "T-A-1", "T-A-1-1"))
    assert a is not None and a1 is not None and a11 is not None
    assert a11.path == f"/{a.id}/{a1.id}/{a11.id}/"
    assert a.uscc == uscc(7)


def test_an_existing_code_updates_and_moves_the_unit(session: Session, units: dict[str, Unit]) -> None:
    data = workbook(
        UNIT_HEADER,
        ["T-FIN-B", "预算管理科", "预算科", "T-HR", REGION, "", ""],
        unit_row("T-HR-1", "新科室", "T-FIN-B"),
    )
    assert xlsx.import_units(session, data=data) == xlsx.ImportSummary(created=1, updated=1)
    budget, hr = units["budget"], units["hr"]
    assert (budget.name, budget.short_name, budget.parent_id) == ("预算管理科", "预算科", hr.id)
    new = directory.unit_by_code(session, code="T-HR-1")
    assert new is not None
    assert new.path == f"/{hr.id}/{budget.id}/{new.id}/"
    # A unit listed with an empty parent becomes top-level; its optional fields are cleared.
    xlsx.import_units(session, data=workbook(UNIT_HEADER, unit_row("T-FIN", "测试市财政局")))
    fin = units["fin"]
    assert (fin.parent_id, fin.short_name, fin.function, fin.uscc) == (None, "", None, None)


def test_every_bad_unit_row_is_reported_and_nothing_is_written(session: Session, units: dict[str, Unit]) -> None:
    before = count(session, Unit)
    data = workbook(
        UNIT_HEADER,
        unit_row("T-OK", "好单位"),  # row 2: fine on its own
        unit_row("T-X1", ""),  # row 3: empty name
        unit_row("T-X2", "某科", "T-NOPE"),  # row 4: unknown parent
        unit_row("T-X3", "某局", region="000000"),  # row 5: unknown region
        unit_row("T-X4", "某局", usc="91350100M000100Y44"),  # row 6: bad check character
        [],  # row 7: blank, skipped
        unit_row("T-OK", "重复"),  # row 8: duplicate code in the file
        unit_row("T-X5", "某局", usc=uscc(1)),  # row 9: USCC held by T-FIN
        unit_row("T-X6", "某局", usc=uscc(2)),  # row 10
        unit_row("T-X7", "某局", usc=uscc(2)),  # row 11: USCC repeated in the file
        unit_row("", "无编码", region=""),  # row 12: two empty required cells
    )
    with pytest.raises(InvalidInput) as caught:
        xlsx.import_units(session, data=data)
    error = caught.value
    assert error.code == "import_rows_invalid"
    assert "未导入任何数据" in error.detail
    assert problems(error) == [
        ("第 3 行", "单位名称：不能为空"),
        ("第 4 行", "上级单位编码 T-NOPE 不存在"),
        ("第 5 行", "行政区划代码 000000 不存在"),
        ("第 6 行", "统一社会信用代码：统一社会信用代码校验位不正确"),
        ("第 8 行", "单位编码 T-OK 与第 2 行重复"),
        ("第 9 行", f"统一社会信用代码 {uscc(1)} 已被单位 T-FIN 使用"),
        ("第 11 行", f"统一社会信用代码 {uscc(2)} 与第 10 行重复"),
        ("第 12 行", "单位编码：不能为空"),
        ("第 12 行", "行政区划代码：不能为空"),
    ]
    assert count(session, Unit) == before


def test_a_parent_loop_is_refused(session: Session, units: dict[str, Unit]) -> None:
    data = workbook(
        UNIT_HEADER,
        unit_row("T-L1", "甲", "T-L2"),
        unit_row("T-L2", "乙", "T-L1"),
        unit_row("T-FIN", "测试市财政局", "T-FIN-B"),  # under its own child, which stays in the database
        unit_row("T-L3", "丙", "T-L1"),  # below a loop, but not in one
    )
    with pytest.raises(InvalidInput) as caught:
        xlsx.import_units(session, data=data)
    assert [field for field, _ in problems(caught.value)] == ["第 2 行", "第 3 行", "第 4 行"]
    assert all("循环" in message for _, message in problems(caught.value))
    assert units["fin"].parent_id is None


def test_deactivated_units_are_not_exported_nor_imported_into(session: Session, units: dict[str, Unit]) -> None:
    directory.deactivate_unit(session, unit_id=units["budget"].id)
    assert "T-FIN-B" not in [row[0] for row in sheet_rows(xlsx.export_units(session))]
    data = workbook(UNIT_HEADER, unit_row("T-FIN-B", "预算科"), unit_row("T-FIN-B-1", "一组", "T-FIN-B"))
    with pytest.raises(InvalidInput) as caught:
        xlsx.import_units(session, data=data)
    assert problems(caught.value) == [("第 2 行", "单位 T-FIN-B 已停用，不能通过导入修改")]


def test_columns_are_found_by_title_and_missing_ones_reported(session: Session, units: dict[str, Unit]) -> None:
    shuffled = [*reversed(UNIT_HEADER), "备注"]
    data = workbook(shuffled, [*reversed(unit_row("T-NEW", "新局")), "随便写"])
    assert xlsx.import_units(session, data=data).created == 1

    with pytest.raises(InvalidInput) as caught:
        xlsx.import_units(session, data=workbook(["单位编码", "单位名称", "单位名称"], ["T-Y", "某局", "某局"]))
    assert problems(caught.value)[:3] == [
        ("第 1 行", "列“单位名称”出现了 2 次"),
        ("第 1 行", "缺少列：简称"),
        ("第 1 行", "缺少列：上级单位编码"),
    ]


def test_numbers_typed_into_code_cells_are_read_as_text(session: Session, region: Region) -> None:
    data = workbook(UNIT_HEADER, [1001, "某局", "", "", int(REGION), "", ""], [1002.0, "某科", "", 1001, REGION])
    assert xlsx.import_units(session, data=data).created == 2
    child = directory.unit_by_code(session, code="1002")
    assert child is not None and child.parent_id is not None


# --- people --------------------------------------------------------------------------------------------------


@pytest.fixture
def staff(session: Session, units: dict[str, Unit]) -> dict[str, Person]:
    def add(code: str, *memberships: MembershipIn) -> Person:
        data = PersonIn(employee_code=code, username=f"u{code}", name=f"人员{code}", memberships=memberships)
        return directory.create_person(session, data=data)

    return {
        "E1": add("T1", MembershipIn(unit_code="T-FIN", post_code="leader_in_charge"), MembershipIn(unit_code="T-HR")),
        "E2": add("T2", MembershipIn(unit_code="T-FIN-B", post_code="clerk")),
        "E3": add("T3"),
    }


def test_export_people_writes_one_row_per_membership(session: Session, staff: dict[str, Person]) -> None:
    rows = sheet_rows(xlsx.export_people(session))
    assert list(rows[0]) == PEOPLE_HEADER
    assert [row for row in rows[1:] if str(row[0]).startswith("T")] == [
        ("T1", "uT1", "人员T1", None, "T-FIN", "leader_in_charge"),
        ("T1", "uT1", "人员T1", None, "T-HR", None),
        ("T2", "uT2", "人员T2", None, "T-FIN-B", "clerk"),
        ("T3", "uT3", "人员T3", None, None, None),
    ]


def test_people_round_trip_through_export_and_import(session: Session, staff: dict[str, Person]) -> None:
    people = list(staff.values())
    before = [out.model_dump() for out in directory.people_out(session, people=people)]
    memberships = count(session, Membership)
    summary = xlsx.import_people(session, data=xlsx.export_people(session))
    assert summary == xlsx.ImportSummary(created=0, updated=active(session, Person))
    assert [out.model_dump() for out in directory.people_out(session, people=people)] == before
    assert count(session, Membership) == memberships


def test_import_people_creates_people_posts_and_memberships(
    session: Session, units: dict[str, Unit], staff: dict[str, Person]
) -> None:
    data = workbook(
        PEOPLE_HEADER,
        ["N1", "zhangsan", "张三", 13800000001, "T-HR", "head"],
        ["N1", "zhangsan", "张三", "13800000001", "T-FIN-B", ""],
        ["T3", "uT3", "人员T3改", "0578-2123456", "T-HR", "clerk"],
    )
    assert xlsx.import_people(session, data=data) == xlsx.ImportSummary(created=1, updated=1)
    zhang = directory.person_by_username(session, username="zhangsan")
    assert zhang is not None
    out = directory.person_out(session, person_id=zhang.id)
    assert (out.name, out.phone) == ("张三", "13800000001")
    assert [(m.unit_code, m.post_code, m.is_primary) for m in out.memberships] == [
        ("T-HR", "head", True),
        ("T-FIN-B", None, False),
    ]
    hr_heads = directory.holders_of_post(session, unit_id=units["hr"].id, post_code="head")
    assert [person.id for person in hr_heads] == [zhang.id]
    t3 = directory.person_out(session, person_id=staff["E3"].id)
    assert (t3.name, t3.phone, [m.post_code for m in t3.memberships]) == ("人员T3改", "0578-2123456", ["clerk"])


def test_import_people_replaces_the_memberships_of_listed_people(session: Session, staff: dict[str, Person]) -> None:
    data = workbook(PEOPLE_HEADER, ["T1", "uT1", "人员T1", "", "T-HR", "section_chief"])
    xlsx.import_people(session, data=data)
    out = directory.person_out(session, person_id=staff["E1"].id)
    assert [(m.unit_code, m.post_code) for m in out.memberships] == [("T-HR", "section_chief")]
    untouched = directory.person_out(session, person_id=staff["E2"].id)
    assert [(m.unit_code, m.post_code) for m in untouched.memberships] == [("T-FIN-B", "clerk")]


def test_every_bad_person_row_is_reported_and_nothing_is_written(session: Session, staff: dict[str, Person]) -> None:
    counts = count(session, Person), count(session, Membership), count(session, Post)
    data = workbook(
        PEOPLE_HEADER,
        ["N1", "n1", "新人", "", "T-FIN", "clerk"],  # row 2: fine
        ["N1", "n1", "新人改名", "", "T-HR", ""],  # row 3: disagrees with row 2
        ["N2", "uT1", "撞名", "", "", ""],  # row 4: username of T1
        ["N3", "n3", "某人", "12345", "T-NOPE", ""],  # row 5: bad phone, unknown unit
        ["N4", "n4", "某人", "", "T-FIN", "driver"],  # row 6: post the unit lacks
        ["N5", "n1", "某人", "", "", ""],  # row 7: username of row 2
        ["N6", "n6", "某人", "", "", "clerk"],  # row 8: post without unit
        ["N1", "n1", "新人", "", "T-FIN", "clerk"],  # row 9: same membership as row 2
        ["", "", "", "", "", "x"],  # row 10: empty required cells
    )
    with pytest.raises(InvalidInput) as caught:
        xlsx.import_people(session, data=data)
    assert problems(caught.value) == [
        ("第 3 行", "工号 N1 的用户名、姓名或手机与第 2 行不一致"),
        ("第 4 行", "用户名 uT1 已被工号 T1 使用"),
        ("第 5 行", "手机：电话号码格式不正确：应为 11 位手机号或区号开头的固定电话（如 0578-2123456）"),
        ("第 6 行", "单位 T-FIN 没有岗位 driver"),
        ("第 7 行", "用户名 n1 与第 2 行（工号 N1）重复"),
        ("第 8 行", "单位编码：须填写单位编码或单位 ID 之一"),
        ("第 9 行", "与第 2 行重复：同一人员在同一单位的同一岗位"),
        ("第 10 行", "工号：不能为空"),
        ("第 10 行", "用户名：不能为空"),
        ("第 10 行", "姓名：不能为空"),
        ("第 10 行", "单位编码：须填写单位编码或单位 ID 之一"),
    ]
    assert (count(session, Person), count(session, Membership), count(session, Post)) == counts


# --- files that are not what they claim ----------------------------------------------------------------------


def zip_of(**entries: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "import_file_empty"),
        (bytes(range(256)) * 40, "import_file_unreadable"),
        ("单位编码,单位名称\nT-1,某局\n".encode(), "import_file_unreadable"),
        (zip_of(readme_txt=b"hello"), "import_file_unreadable"),
        (zip_of(**{"[Content_Types].xml": b"<not xml"}), "import_file_unreadable"),
        (b"PK\x03\x04" + b"\x00" * 100, "import_file_unreadable"),
    ],
    ids=["empty", "random", "csv", "zip", "broken-xml", "truncated-zip"],
)
def test_garbage_files_are_invalid_input(session: Session, data: bytes, code: str) -> None:
    for importer in (xlsx.import_units, xlsx.import_people):
        with pytest.raises(InvalidInput) as caught:
            importer(session, data=data)
        assert caught.value.code == code
        assert caught.value.detail


def test_a_sheet_without_data_rows_is_refused(session: Session) -> None:
    with pytest.raises(InvalidInput) as caught:
        xlsx.import_units(session, data=workbook(UNIT_HEADER))
    assert caught.value.code == "import_no_rows"
    with pytest.raises(InvalidInput) as caught:
        xlsx.import_units(session, data=workbook([]))
    assert caught.value.code == "import_rows_invalid"
    assert problems(caught.value)[0] == ("第 1 行", "缺少列：单位编码")


def test_too_many_rows_or_columns_are_refused(
    session: Session, region: Region, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(xlsx, "MAX_ROWS", 3)
    rows = [unit_row(f"T-{n}", f"单位{n}") for n in range(4)]
    with pytest.raises(InvalidInput) as caught:
        xlsx.import_units(session, data=workbook(UNIT_HEADER, *rows))
    assert caught.value.code == "import_too_many_rows"
    assert xlsx.import_units(session, data=workbook(UNIT_HEADER, *rows[:3])).created == 3

    wide = [*UNIT_HEADER, *([""] * (xlsx.MAX_COLUMNS - 7)), "第 51 列"]
    with pytest.raises(InvalidInput) as caught:
        xlsx.import_units(session, data=workbook(wide, unit_row("T-W", "宽表")))
    assert caught.value.code == "import_too_many_columns"
    # Under no title, a far cell is never read, so it costs nothing and changes nothing.
    far = [*unit_row("T-W", "宽表"), *([None] * 16_000), "远处的值"]
    assert xlsx.import_units(session, data=workbook(UNIT_HEADER, far)).created == 1


def test_archives_that_unpack_too_large_are_refused(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    data = workbook(UNIT_HEADER, unit_row("T-1", "某局"))
    monkeypatch.setattr(spreadsheets, "MAX_UNPACKED_BYTES", 2_000)
    with pytest.raises(InvalidInput) as caught:
        xlsx.import_units(session, data=data)
    assert caught.value.code == "import_file_too_large"
