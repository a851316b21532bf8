"""Spreadsheet exchange of the unit and people libraries: .xlsx export, and all-or-nothing import.

Import rules (both sheets):

* the first worksheet is read; row 1 is the header, matched by column title (order free, extra columns
  ignored, every listed column required); blank rows are skipped; at most 20,000 data rows and a header of at
  most 50 columns (cells past the 50th column are never read);
* every row is validated before anything is written; if any row is bad, ``InvalidInput`` with code
  ``import_rows_invalid`` lists every problem as ``FieldProblem(field="第 N 行", …)`` (N as Excel shows it)
  and nothing is written;
* a row whose code (单位编码 / 工号) already exists **updates** that unit or person (upsert); the summary
  counts created and updated records;
* deactivated units are neither exported nor changed by an import, and an import cannot attach to them.

Units: rows are written parents first, whatever their order in the file; an empty optional cell clears the
field (an empty 上级单位编码 makes the unit top-level). A USCC held by another unit in the database is refused
even if the same file gives that unit a new one.

People: one row per membership, so a person holding two posts fills two rows with the same 工号 (their
用户名, 姓名 and 手机 must agree); a row without 单位编码 is a person with no membership. A listed person's
memberships in active units become exactly the file's, the first row being the primary one. A 岗位编码 is a
standard post (created in the unit when missing) or a post the unit already has. A username held by another
person in the database is refused even if the same file renames that person.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.directory.models import Membership, Person, Post, Region, Unit
from xietong.directory.schemas import MembershipIn, PersonIn, PersonUpdate, UnitIn, UnitNode, UnitUpdate, field_problems
from xietong.directory.service import (
    STANDARD_POSTS,
    create_person,
    create_unit,
    replace_memberships,
    unit_tree,
    update_person,
    update_unit,
)
from xietong.errors import FieldProblem, InvalidInput
from xietong.spreadsheets import cell_text, read_workbook, unreadable

UNIT_COLUMNS = {
    "code": "单位编码",
    "name": "单位名称",
    "short_name": "简称",
    "parent_code": "上级单位编码",
    "region_code": "行政区划代码",
    "function": "职能",
    "uscc": "统一社会信用代码",
}
PEOPLE_COLUMNS = {
    "employee_code": "工号",
    "username": "用户名",
    "name": "姓名",
    "phone": "手机",
    "unit_code": "单位编码",
    "post_code": "岗位编码",
}
_PERSON_LABELS = {**PEOPLE_COLUMNS, "memberships.0": "单位编码", "memberships.0.post_code": "岗位编码"}
_UNIT_UPDATE_FIELDS = {"name", "short_name", "parent_code", "region_code", "function", "uscc"}
MAX_ROWS = 20_000
MAX_COLUMNS = 50

Progress = Callable[[int, int], None]
Problems = list[tuple[int, FieldProblem]]


@dataclass(frozen=True)
class ImportSummary:
    """What an import did: records (units or people, not rows) created and updated."""

    created: int
    updated: int


@dataclass(frozen=True)
class _Row:
    number: int  # as Excel shows it: the header is row 1
    cells: dict[str, str]  # field name → stripped text, "" when blank


@dataclass
class _PersonPlan:
    row: _Row  # the person's first row
    person: PersonIn
    existing: Person | None
    rows_by_membership: dict[tuple[str, str | None], int] = field(default_factory=dict)


def export_units(session: Session) -> bytes:
    """Active units as .xlsx in the columns import_units reads, each parent before its children."""
    rows = ([getattr(node, name) for name in UNIT_COLUMNS] for node in _depth_first(unit_tree(session)))
    return _workbook("单位", UNIT_COLUMNS.values(), rows)


def export_people(session: Session) -> bytes:
    """Active people as .xlsx, one row per membership in an active unit (primary first), by 工号."""
    memberships: dict[int, list[tuple[str, str | None]]] = {}
    query = (
        select(Membership.person_id, Unit.code, Post.code)
        .join(Unit, Unit.id == Membership.unit_id)
        .outerjoin(Post, Post.id == Membership.post_id)
        .where(Unit.active.is_(True))
        .order_by(Membership.is_primary.desc(), Membership.id)
    )
    for person_id, unit_code, post_code in session.execute(query):
        memberships.setdefault(person_id, []).append((unit_code, post_code))
    people = session.scalars(select(Person).where(Person.active.is_(True)).order_by(Person.employee_code)).all()
    rows = (
        [person.employee_code, person.username, person.name, person.phone, unit_code, post_code]
        for person in people
        for unit_code, post_code in memberships.get(person.id) or [(None, None)]
    )
    return _workbook("人员", PEOPLE_COLUMNS.values(), rows)


def import_units(session: Session, *, data: bytes, progress: Progress | None = None) -> ImportSummary:
    """Create or update units from an .xlsx made like export_units; all rows or none (see the module doc)."""
    plan = _plan_units(session, _read(data, UNIT_COLUMNS))
    created = 0
    for done, (unit_in, existing) in enumerate(plan, start=1):
        if existing is None:
            create_unit(session, data=unit_in)
            created += 1
        else:
            update = UnitUpdate(**unit_in.model_dump(include=_UNIT_UPDATE_FIELDS))
            update_unit(session, unit_id=existing.id, data=update)
        if progress is not None:
            progress(done, len(plan))
    return ImportSummary(created=created, updated=len(plan) - created)


def import_people(session: Session, *, data: bytes, progress: Progress | None = None) -> ImportSummary:
    """Create or update people and their memberships from an .xlsx made like export_people; all rows or none."""
    plans = _plan_people(session, _read(data, PEOPLE_COLUMNS))
    created = 0
    for done, plan in enumerate(plans, start=1):
        if plan.existing is None:
            create_person(session, data=plan.person)
            created += 1
        else:
            person = plan.person
            update = PersonUpdate(username=person.username, name=person.name, phone=person.phone)
            update_person(session, person_id=plan.existing.id, data=update)
            replace_memberships(session, person_id=plan.existing.id, memberships=person.memberships)
        if progress is not None:
            progress(done, len(plans))
    return ImportSummary(created=created, updated=len(plans) - created)


# --- planning: every check before any write -------------------------------------------------------------


def _plan_units(session: Session, rows: list[_Row]) -> list[tuple[UnitIn, Unit | None]]:
    units = {unit.code: unit for unit in session.scalars(select(Unit))}
    codes_by_id = {unit.id: code for code, unit in units.items()}
    parsed, broken, problems = _check_unit_rows(session, rows, units)

    def parent_of(code: str) -> str | None:
        if code in parsed:
            return parsed[code][1].parent_code
        unit = units.get(code)
        return codes_by_id.get(unit.parent_id) if unit is not None and unit.parent_id is not None else None

    depth, looped = _depths(parsed, parent_of)
    for code, (row, unit_in) in parsed.items():
        parent = unit_in.parent_code
        if parent is None or parent in broken:
            continue
        if parent not in parsed and parent not in units:
            problems.append(_problem(row, f"上级单位编码 {parent} 不存在"))
        elif parent not in parsed and not units[parent].active:
            problems.append(_problem(row, f"上级单位 {parent} 已停用"))
        elif code in looped:
            problems.append(_problem(row, f"上级单位编码 {parent} 使单位关系形成循环（单位不能成为自己的下级）"))
    _raise_if_any(problems)
    ordered = sorted(parsed.values(), key=lambda item: depth[item[1].code])  # stable: file order per level
    return [(unit_in, units.get(unit_in.code)) for _, unit_in in ordered]


def _check_unit_rows(
    session: Session, rows: list[_Row], units: Mapping[str, Unit]
) -> tuple[dict[str, tuple[_Row, UnitIn]], set[str], Problems]:
    """Each row on its own and against the database; returns the valid rows by code and the invalid codes."""
    regions = set(session.scalars(select(Region.code)))
    uscc_holders = {unit.uscc: code for code, unit in units.items() if unit.uscc}
    uscc_rows: dict[str, int] = {}
    parsed: dict[str, tuple[_Row, UnitIn]] = {}
    broken: set[str] = set()  # codes on invalid rows: their children get no second complaint
    problems: Problems = []
    for row in rows:
        try:
            unit_in = UnitIn(**row.cells)
        except ValidationError as exc:
            problems += _pydantic_problems(row, exc, UNIT_COLUMNS)
            broken.add(row.cells["code"])
            continue
        if unit_in.code in parsed:
            problems.append(_problem(row, f"单位编码 {unit_in.code} 与第 {parsed[unit_in.code][0].number} 行重复"))
            continue
        parsed[unit_in.code] = (row, unit_in)
        current = units.get(unit_in.code)
        if current is not None and not current.active:
            problems.append(_problem(row, f"单位 {unit_in.code} 已停用，不能通过导入修改"))
        if unit_in.region_code not in regions:
            problems.append(_problem(row, f"行政区划代码 {unit_in.region_code} 不存在"))
        if unit_in.uscc is not None:
            holder = uscc_holders.get(unit_in.uscc)
            first = uscc_rows.setdefault(unit_in.uscc, row.number)
            if holder not in (None, unit_in.code):
                problems.append(_problem(row, f"统一社会信用代码 {unit_in.uscc} 已被单位 {holder} 使用"))
            elif first != row.number:
                problems.append(_problem(row, f"统一社会信用代码 {unit_in.uscc} 与第 {first} 行重复"))
    return parsed, broken, problems


def _depths(codes: Iterable[str], parent_of: Callable[[str], str | None]) -> tuple[dict[str, int], set[str]]:
    """Depth of each unit in the tree the import would make, and the units caught in a parent loop."""
    depth: dict[str, int] = {}
    looped: set[str] = set()
    for start in codes:
        chain: list[str] = []
        position: dict[str, int] = {}
        node: str | None = start
        while node is not None and node not in depth and node not in position:
            position[node] = len(chain)
            chain.append(node)
            node = parent_of(node)
        if node is None:
            base = 0
        elif node in position:  # the walk came back to itself: a loop, reported; its members need no real depth
            loop, chain = chain[position[node] :], chain[: position[node]]
            looped.update(loop)
            depth.update(dict.fromkeys(loop, 0))
            base = 1
        else:
            base = depth[node] + 1
        for member in reversed(chain):
            depth[member] = base
            base += 1
    return depth, looped


def _plan_people(session: Session, rows: list[_Row]) -> list[_PersonPlan]:
    people = {person.employee_code: person for person in session.scalars(select(Person))}
    username_holders = {person.username: code for code, person in people.items()}
    unit_active = dict(session.execute(select(Unit.code, Unit.active)).all())
    unit_posts = set(session.execute(select(Unit.code, Post.code).join(Unit, Unit.id == Post.unit_id)).all())
    problems: Problems = []
    plans: dict[str, _PersonPlan] = {}
    username_rows: dict[str, tuple[str, int]] = {}
    for row in rows:
        try:
            person = PersonIn(**_person_fields(row))
        except ValidationError as exc:
            problems += _pydantic_problems(row, exc, _PERSON_LABELS)
            continue
        plan = plans.get(person.employee_code)
        if plan is None:
            existing = people.get(person.employee_code)
            plan = plans[person.employee_code] = _PersonPlan(
                row, person.model_copy(update={"memberships": []}), existing
            )
            problem = _username_problem(person, row, username_holders, username_rows)
        elif _identity(person) != _identity(plan.person):
            problem = f"工号 {person.employee_code} 的用户名、姓名或手机与第 {plan.row.number} 行不一致"
        else:
            problem = None
        if problem is not None:
            problems.append(_problem(row, problem))
        for membership in person.memberships:
            problem = _membership_problem(membership, plan, unit_active, unit_posts)
            if problem is not None:
                problems.append(_problem(row, problem))
            else:
                plan.rows_by_membership[(membership.unit_code or "", membership.post_code)] = row.number
                plan.person.memberships.append(membership)
    _raise_if_any(problems)
    return list(plans.values())


def _identity(person: PersonIn) -> tuple[str, str, str | None]:
    return person.username, person.name, person.phone


def _username_problem(
    person: PersonIn, row: _Row, holders: Mapping[str, str], first_rows: dict[str, tuple[str, int]]
) -> str | None:
    holder = holders.get(person.username)
    first = first_rows.setdefault(person.username, (person.employee_code, row.number))
    if holder not in (None, person.employee_code):
        return f"用户名 {person.username} 已被工号 {holder} 使用"
    if first[0] != person.employee_code:
        return f"用户名 {person.username} 与第 {first[1]} 行（工号 {first[0]}）重复"
    return None


def _person_fields(row: _Row) -> dict[str, Any]:
    cells = dict(row.cells)
    unit_code, post_code = cells.pop("unit_code"), cells.pop("post_code")
    cells["memberships"] = [{"unit_code": unit_code, "post_code": post_code}] if unit_code or post_code else []
    return cells


def _membership_problem(
    membership: MembershipIn,
    plan: _PersonPlan,
    unit_active: Mapping[str, bool],
    unit_posts: set[tuple[str, str]],
) -> str | None:
    unit_code, post_code = membership.unit_code or "", membership.post_code
    if unit_code not in unit_active:
        return f"单位编码 {unit_code} 不存在"
    if not unit_active[unit_code]:
        return f"单位 {unit_code} 已停用"
    if post_code is not None and post_code not in STANDARD_POSTS and (unit_code, post_code) not in unit_posts:
        return f"单位 {unit_code} 没有岗位 {post_code}"
    seen = plan.rows_by_membership.get((unit_code, post_code))
    if seen is not None:
        return f"与第 {seen} 行重复：同一人员在同一单位的同一岗位"
    return None


def _problem(row: _Row, message: str) -> tuple[int, FieldProblem]:
    return row.number, FieldProblem(field=f"第 {row.number} 行", message=message, code="import_row")


def _pydantic_problems(row: _Row, exc: ValidationError, labels: Mapping[str, str]) -> Problems:
    return [_problem(row, f"{problem.field}：{problem.message}") for problem in field_problems(exc, labels)]


def _raise_if_any(problems: Problems) -> None:
    if problems:
        rows = len({number for number, _ in problems})
        raise InvalidInput(
            code="import_rows_invalid",
            detail=f"有 {rows} 行数据有误，未导入任何数据；请改正后重新导入",
            errors=[problem for _, problem in sorted(problems, key=lambda item: item[0])],
        )


# --- reading and writing workbooks -------------------------------------------------------------------------


def _read(data: bytes, columns: Mapping[str, str]) -> list[_Row]:
    """The data rows of the first sheet, refusing anything that is not a sane .xlsx with these columns."""
    with read_workbook(data, what="单位或人员表") as workbook:
        return _rows(workbook, columns)


def _rows(workbook: Workbook, columns: Mapping[str, str]) -> list[_Row]:
    if not workbook.worksheets:
        raise unreadable()
    sheet = workbook.worksheets[0]
    sheet.reset_dimensions()  # the declared size may be stale or absent; the bounds below are ours
    header = [cell_text(value) for value in next(sheet.iter_rows(max_row=1, values_only=True), ())]
    if any(header[MAX_COLUMNS:]):
        raise InvalidInput(code="import_too_many_columns", detail=f"表头超过 {MAX_COLUMNS} 列，未导入")
    positions = _positions(header, columns)
    rows = []
    lines = sheet.iter_rows(min_row=2, max_row=MAX_ROWS + 2, max_col=MAX_COLUMNS, values_only=True)
    for number, values in enumerate(lines, start=2):
        texts = [cell_text(value) for value in values]
        if any(texts):
            if number > MAX_ROWS + 1:
                raise InvalidInput(code="import_too_many_rows", detail=f"表格超过 {MAX_ROWS} 行数据，请分批导入")
            rows.append(_Row(number, {name: texts[index] for name, index in positions.items()}))
    if not rows:
        raise InvalidInput(code="import_no_rows", detail="表格中只有表头，没有数据行")
    return rows


def _positions(header: list[str], columns: Mapping[str, str]) -> dict[str, int]:
    positions: dict[str, int] = {}
    problems: Problems = []
    header_row = _Row(1, {})
    for name, title in columns.items():
        found = [index for index, text in enumerate(header) if text == title]
        if not found:
            problems.append(_problem(header_row, f"缺少列：{title}"))
        elif len(found) > 1:
            problems.append(_problem(header_row, f"列“{title}”出现了 {len(found)} 次"))
        else:
            positions[name] = found[0]
    _raise_if_any(problems)
    return positions


def _workbook(title: str, header: Iterable[str], rows: Iterable[list[Any]]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = "A2"
    sheet.append(list(header))
    for row in rows:
        sheet.append(row)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _depth_first(roots: list[UnitNode]) -> Iterator[UnitNode]:
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children))
