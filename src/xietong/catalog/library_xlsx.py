"""Spreadsheet exchange of the matter library: one row per local matter, .xlsx export and all-or-nothing import.

The layout and every rule are in ``docs/matter-library-xlsx.md``. In short: every row is checked against the
file and the database before anything is written; any bad row refuses the whole file with ``InvalidInput``
(code ``import_rows_invalid``) listing ``FieldProblem(field="第 N 行", …)`` for each problem. A good file reuses
base matters by code, creates missing local matters, and publishes a new version of a local matter only when
its content (type, limits, materials, process, fee, trips) changed.

Fee (收费, yuan) and trips (到现场次数) have no columns yet: they live in the version's process body under
``extensions["facts"] = {"fee_yuan": …, "trips": …}`` (read by ``catalog.reductions``), present only when one of
them is not zero.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.catalog.forms import FormSchemaError, check_file_fields, parse_form_schema, parse_materials
from xietong.catalog.linear_process import (
    Step,
    default_post,
    linear_process,
    linear_steps,
    number,
    user_tasks,
    version_facts,
    with_facts,
)
from xietong.catalog.models import BaseMatter, LocalMatter, MatterVersion, ProcessDefinition
from xietong.catalog.service import create_base_matter, create_local_matter, draft_version, publish_version
from xietong.directory.models import Post, Region, Unit
from xietong.directory.service import STANDARD_POSTS
from xietong.engine.definition import compile_process
from xietong.errors import FieldProblem, InvalidInput
from xietong.spreadsheets import cell_text, read_workbook, unreadable

COLUMNS = {
    "base_code": "事项编码",
    "name": "事项名称",
    "kind": "事项类型",
    "legal": "法定时限",
    "promised": "承诺时限",
    "region_code": "行政区划代码",
    "unit_code": "实施主体编码",
    "uscc": "统一社会信用代码",
    "materials": "材料",
    "steps": "环节",
    "process_kind": "流程类型",
    "fee": "收费（元）",
    "trips": "到现场次数",
}
OPTIONAL_COLUMNS = {"unit_code", "uscc", "process_kind"}  # one of 实施主体编码 / 统一社会信用代码 is needed per row
KINDS = {"即办": "immediate", "即办件": "immediate", "承诺": "promised", "承诺件": "promised"}
KIND_TEXT = {"immediate": "即办", "promised": "承诺"}
LINEAR, COMPLEX = "线性流程", "复杂流程"
DEFAULT_FORMATS = ["pdf", "ofd", "jpg", "png"]
DEFAULT_FORM: dict[str, Any] = {
    "schema": "xietong.form/1",
    "fields": [{"key": "title", "label": "申请事由", "type": "text", "required": True, "max_length": 200}],
}
MAX_ROWS = 20_000
MAX_COLUMNS = 50
MAX_LIMIT_DAYS = 365
MAX_TRIPS = 99
MAX_FEE = Decimal("100000000")
_BASE_CODE = re.compile(r"[A-Za-z0-9_.-]{1,40}")
_SEPARATORS = re.compile(r"[;；\n]")
_COLON = re.compile(r"[:：]")

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ImportSummary:
    """What an import did: local matters created and updated, versions published, rows that changed nothing."""

    created: int
    updated: int
    versions: int
    unchanged: int = 0


@dataclass(frozen=True)
class _Row:
    number: int  # as Excel shows it: the header is row 1
    cells: dict[str, str]


@dataclass
class _Current:
    local: LocalMatter
    version: MatterVersion
    process: dict[str, Any]


@dataclass
class _Plan:
    row: _Row
    base_code: str
    name: str
    kind: str
    legal: int
    promised: int
    unit: Unit
    materials: list[dict[str, Any]]
    process: dict[str, Any]
    local: LocalMatter | None
    current: _Current | None

    def changed(self) -> bool:
        if self.current is None:
            return True
        version = self.current.version
        before = (version.kind, version.legal_limit_days, version.promised_limit_days, version.materials)
        return before != (self.kind, self.legal, self.promised, self.materials) or self.current.process != self.process


class _RowError(Exception):
    """One problem with one row (collected, never escapes the module)."""


# --- export ------------------------------------------------------------------------------------------------


def export_matters(session: Session) -> bytes:
    """Published local matters as .xlsx in the columns import_matters reads, by region, unit and matter code."""
    query = (
        select(BaseMatter.code, LocalMatter.name, MatterVersion, Region.code, Unit.code, Unit.uscc, ProcessDefinition)
        .join(LocalMatter, LocalMatter.id == MatterVersion.local_matter_id)
        .join(BaseMatter, BaseMatter.id == LocalMatter.base_matter_id)
        .join(Region, Region.id == LocalMatter.region_id)
        .join(Unit, Unit.id == LocalMatter.handling_unit_id)
        .join(ProcessDefinition, ProcessDefinition.id == MatterVersion.process_definition_id)
        .where(MatterVersion.status == "published")
        .order_by(Region.code, Unit.code, BaseMatter.code)
    )
    rows = []
    for base_code, name, version, region_code, unit_code, uscc, definition in session.execute(query):
        steps = linear_steps(definition.body)
        fee, trips = version_facts(definition.body)
        rows.append([
            base_code, name, KIND_TEXT.get(version.kind, version.kind), version.legal_limit_days,
            version.promised_limit_days, region_code, unit_code, uscc, _materials_text(version.materials),
            _steps_text(steps if steps is not None else user_tasks(definition.body)),
            LINEAR if steps is not None else COMPLEX, number(fee), trips,
        ])  # fmt: skip
    return _workbook("事项库", COLUMNS.values(), rows)


def _materials_text(materials: list[Any]) -> str:
    return "；".join(f"{m['code']}:{m['name']}" + ("" if m.get("required") else ":非必要") for m in materials)


def _steps_text(steps: list[Step]) -> str:
    return "；".join(name if not post or post == default_post(name) else f"{name}@{post}" for name, post in steps)


# --- import ------------------------------------------------------------------------------------------------


def import_matters(session: Session, *, data: bytes, progress: Progress | None = None) -> ImportSummary:
    """Create or update local matters and publish changed versions from an .xlsx; all rows or none."""
    plans = _plan(session, _read(data))
    bases = {base.code: base for base in session.scalars(select(BaseMatter))}
    created = updated = versions = unchanged = 0
    for done, plan in enumerate(plans, start=1):
        base = bases.get(plan.base_code)
        if base is None:
            base = bases[plan.base_code] = create_base_matter(
                session, code=plan.base_code, name=plan.name, kind=plan.kind, legal_limit_days=plan.legal
            )
        local = plan.local
        renamed = local is not None and local.name != plan.name
        if local is None:
            local = create_local_matter(
                session, base=base, region_id=plan.unit.region_id, handling_unit_id=plan.unit.id, name=plan.name
            )
        local.name = plan.name
        if plan.changed():
            version = draft_version(
                session, local=local, form_schema=plan.current.version.form_schema if plan.current else DEFAULT_FORM,
                materials=plan.materials, process=plan.process, promised_limit_days=plan.promised, kind=plan.kind,
                legal_limit_days=plan.legal,
            )  # fmt: skip
            publish_version(session, version_id=version.id)
            versions += 1
        if plan.local is None:
            created += 1
        elif plan.changed() or renamed:
            updated += 1
        else:
            unchanged += 1
        if progress is not None:
            progress(done, len(plans))
    session.flush()
    return ImportSummary(created=created, updated=updated, versions=versions, unchanged=unchanged)


@dataclass
class _Library:
    """What the checks need from the database, read once."""

    units: dict[str, Unit]
    units_by_uscc: dict[str, Unit]
    regions: dict[str, int]
    posts: set[tuple[int, str]]
    local_matters: dict[tuple[str, int], LocalMatter]  # (base code, handling unit id) → local matter
    current: dict[tuple[str, int], _Current]  # the same key → its published version

    @classmethod
    def load(cls, session: Session) -> _Library:
        units = {unit.code: unit for unit in session.scalars(select(Unit))}
        pairs = session.execute(
            select(BaseMatter.code, LocalMatter).join(LocalMatter, LocalMatter.base_matter_id == BaseMatter.id)
        )
        query = (
            select(BaseMatter.code, LocalMatter, MatterVersion, ProcessDefinition.body)
            .join(LocalMatter, LocalMatter.base_matter_id == BaseMatter.id)
            .join(MatterVersion, MatterVersion.local_matter_id == LocalMatter.id)
            .join(ProcessDefinition, ProcessDefinition.id == MatterVersion.process_definition_id)
            .where(MatterVersion.status == "published")
        )
        return cls(
            units=units,
            units_by_uscc={unit.uscc: unit for unit in units.values() if unit.uscc},
            regions={code: region_id for code, region_id in session.execute(select(Region.code, Region.id))},
            posts={(unit_id, code) for unit_id, code in session.execute(select(Post.unit_id, Post.code))},
            local_matters={(code, local.handling_unit_id): local for code, local in pairs},
            current={
                (code, local.handling_unit_id): _Current(local, version, body)
                for code, local, version, body in session.execute(query)
            },
        )


def _plan(session: Session, rows: list[_Row]) -> list[_Plan]:
    library = _Library.load(session)
    plans: list[_Plan] = []
    seen: dict[tuple[str, int], int] = {}
    problems: list[FieldProblem] = []
    for row in rows:
        messages: list[str] = []
        plan = _check_row(row, library, messages)
        if plan is not None:
            key = (plan.base_code, plan.unit.id)
            first = seen.setdefault(key, row.number)
            if first != row.number:
                messages.append(f"与第 {first} 行重复（同一事项编码、同一实施主体）")
            else:
                plans.append(plan)
        problems += [FieldProblem(field=f"第 {row.number} 行", message=m, code="import_row") for m in messages]
    if problems:
        rows_bad = len({problem.field for problem in problems})
        raise InvalidInput(
            code="import_rows_invalid",
            detail=f"有 {rows_bad} 行数据有误，未导入任何数据；请改正后重新导入",
            errors=problems,
        )
    return plans


def _check_row(row: _Row, library: _Library, messages: list[str]) -> _Plan | None:
    """The row's plan, or None with every problem found appended to ``messages``."""
    cells = row.cells

    def attempt(check: Callable[[], Any]) -> Any:
        try:
            return check()
        except _RowError as exc:
            messages.append(str(exc))
            return None

    base_code = attempt(lambda: _base_code(cells["base_code"]))
    name = attempt(lambda: _text(cells["name"], "事项名称", 200))
    kind = attempt(lambda: _kind(cells["kind"]))
    legal = attempt(lambda: _days(cells["legal"], "法定时限", blank=0 if kind == "immediate" else None))
    promised = attempt(lambda: _days(cells["promised"], "承诺时限", blank=0 if kind == "immediate" else None))
    if kind == "promised" and legal is not None and promised is not None and promised > legal:
        messages.append(f"承诺件的承诺时限（{promised} 个工作日）不能超过法定时限（{legal} 个工作日）")
    unit = attempt(lambda: _unit(cells, library))
    fee = attempt(lambda: _fee(cells["fee"]))
    trips = attempt(lambda: _trips(cells["trips"]))
    key = (base_code, unit.id) if base_code and unit else None
    local = library.local_matters.get(key) if key else None
    current = library.current.get(key) if key else None
    if local is not None and local.status == "retired":
        messages.append(f"事项 {base_code} 在实施主体 {unit.code} 已废止，不能通过导入修改")
    materials = attempt(lambda: _materials(cells["materials"], current))
    process = attempt(lambda: _process(cells, unit, current, library, fee=fee, trips=trips))
    if materials is not None and current is not None:
        attempt(lambda: _check_form(current.version.form_schema, materials))
    if messages:
        return None
    return _Plan(row, base_code, name, kind, legal, promised, unit, materials, process, local, current)


def _text(text: str, label: str, limit: int) -> str:
    if not text:
        raise _RowError(f"{label}不能为空")
    if len(text) > limit:
        raise _RowError(f"{label}不能超过 {limit} 个字")
    return text


def _base_code(text: str) -> str:
    if not _BASE_CODE.fullmatch(text):
        raise _RowError(
            f"事项编码“{text}”格式不正确（1–40 位字母、数字、点、横线或下划线）" if text else "事项编码不能为空"
        )
    return text


def _kind(text: str) -> str:
    if text not in KINDS:
        raise _RowError(f"事项类型“{text}”无效，应为“即办”或“承诺”")
    return KINDS[text]


def _days(text: str, label: str, *, blank: int | None) -> int:
    if not text and blank is not None:
        return blank
    if not text.isdigit() or int(text) > MAX_LIMIT_DAYS:
        raise _RowError(
            f"{label}“{text}”应为 0 到 {MAX_LIMIT_DAYS} 之间的整数（工作日）" if text else f"{label}不能为空"
        )
    return int(text)


def _fee(text: str) -> Decimal:
    try:
        fee = Decimal(text or "0")
    except InvalidOperation:
        raise _RowError(f"收费“{text}”应为金额（元），不收费填 0") from None
    if not fee.is_finite() or fee < 0 or fee > MAX_FEE or fee != fee.quantize(Decimal("0.01")):
        raise _RowError(f"收费“{text}”应为不小于 0 的金额（元），最多两位小数")
    return fee.normalize() if fee else Decimal(0)


def _trips(text: str) -> int:
    if text and (not text.isdigit() or int(text) > MAX_TRIPS):
        raise _RowError(f"到现场次数“{text}”应为 0 到 {MAX_TRIPS} 之间的整数")
    return int(text or 0)


def _unit(cells: Mapping[str, str], library: _Library) -> Unit:
    code, uscc, region_code = cells["unit_code"], cells["uscc"], cells["region_code"]
    if region_code not in library.regions:
        raise _RowError(f"行政区划代码“{region_code}”不存在" if region_code else "行政区划代码不能为空")
    if not code and not uscc:
        raise _RowError("实施主体编码和统一社会信用代码至少填写一项")
    unit = library.units.get(code) if code else library.units_by_uscc.get(uscc)
    if unit is None:
        raise _RowError(f"实施主体编码“{code}”不存在" if code else f"统一社会信用代码“{uscc}”没有对应的单位")
    if code and uscc and unit.uscc != uscc:
        raise _RowError(f"统一社会信用代码“{uscc}”与实施主体 {code} 的不一致")
    if not unit.active:
        raise _RowError(f"实施主体 {unit.code} 已停用")
    if unit.region_id != library.regions[region_code]:
        raise _RowError(f"实施主体 {unit.code} 不属于行政区划 {region_code}")
    return unit


def _materials(text: str, current: _Current | None) -> list[dict[str, Any]]:
    """Parse ``CODE:名称[:必要|非必要]`` items; a code the current version has keeps its formats, size and note."""
    known = {m["code"]: m for m in current.version.materials} if current else {}
    materials = []
    for item in filter(None, (part.strip() for part in _SEPARATORS.split(text))):
        parts = [part.strip() for part in _COLON.split(item)]
        if len(parts) not in (2, 3) or not all(parts) or (len(parts) == 3 and parts[2] not in ("必要", "非必要")):
            raise _RowError(f"材料“{item}”格式不正确，应为“编码:名称”或“编码:名称:非必要”，多个材料用分号分隔")
        code, name = parts[0], parts[1]
        required = len(parts) == 2 or parts[2] == "必要"
        materials.append({**known.get(code, {"formats": DEFAULT_FORMATS}), "code": code, "name": name,
                          "required": required})  # fmt: skip
    try:
        parse_materials(materials)
    except FormSchemaError as exc:
        raise _RowError("材料有误：" + "；".join(_material_problem(p.path, p.message) for p in exc.problems)) from None
    return materials


def _material_problem(path: str, message: str) -> str:
    index = re.match(r"\[(\d+)\]", path)
    return f"第 {int(index.group(1)) + 1} 个材料 {message}" if index else message


def _process(
    cells: Mapping[str, str],
    unit: Unit | None,
    current: _Current | None,
    library: _Library,
    *,
    fee: Decimal | None,
    trips: int | None,
) -> dict[str, Any] | None:
    names = [part.strip() for part in _SEPARATORS.split(cells["steps"]) if part.strip()]
    if not names:
        raise _RowError("环节不能为空，多个环节用分号分隔")
    kind = cells["process_kind"] or LINEAR
    if kind not in (LINEAR, COMPLEX):
        raise _RowError(f"流程类型“{kind}”无效，应为“{LINEAR}”或“{COMPLEX}”（留空即线性流程）")
    if kind == COMPLEX:
        if current is None or linear_steps(current.process) is not None:
            raise _RowError("复杂流程只能沿用已发布事项的流程：该实施主体尚无此事项的复杂流程，请在流程设计器中配置")
        if [name for name, _ in user_tasks(current.process)] != [name.split("@")[0] for name in names]:
            raise _RowError("复杂流程的环节不能在表格中修改，请在流程设计器中修改（或把流程类型改为线性流程）")
        return None if fee is None or trips is None else with_facts(current.process, fee=fee, trips=trips)
    steps = [_step(name, unit, library) for name in names]
    if unit is None or fee is None or trips is None:
        return None
    process = linear_process(steps, fee=fee, trips=trips)
    compile_process(process)
    return process


def _step(text: str, unit: Unit | None, library: _Library) -> Step:
    name, _, post = (part.strip() for part in text.partition("@"))
    if not name or len(name) > 100:
        raise _RowError(f"环节“{text}”的名称应为 1–100 个字")
    post = post or default_post(name)
    if unit is not None and (unit.id, post) not in library.posts:
        standard = STANDARD_POSTS.get(post)
        raise _RowError(
            f"实施主体 {unit.code} 没有岗位 {post}{f'（{standard}）' if standard else ''}，环节“{name}”无法分派"
        )
    return name, post


def _check_form(form_schema: dict[str, Any], materials: list[dict[str, Any]]) -> None:
    problems = check_file_fields(parse_form_schema(form_schema), parse_materials(materials))
    if problems:
        raise _RowError("表单的附件字段仍在使用被删除的材料：" + "、".join(p.message for p in problems))


# --- reading and writing workbooks -------------------------------------------------------------------------


def _read(data: bytes) -> list[_Row]:
    """The data rows of the first sheet, refusing anything that is not a sane .xlsx with these columns."""
    with read_workbook(data, what="事项库表") as workbook:
        if not workbook.worksheets:
            raise unreadable()
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # the declared size may be stale or absent; the bounds below are ours
        header = [cell_text(value) for value in next(sheet.iter_rows(max_row=1, values_only=True), ())]
        if any(header[MAX_COLUMNS:]):
            raise InvalidInput(code="import_too_many_columns", detail=f"表头超过 {MAX_COLUMNS} 列，未导入")
        positions = _positions(header)
        rows = []
        lines = sheet.iter_rows(min_row=2, max_row=MAX_ROWS + 2, max_col=MAX_COLUMNS, values_only=True)
        for number, values in enumerate(lines, start=2):
            texts = [cell_text(value) for value in values]
            if any(texts):
                if number > MAX_ROWS + 1:
                    raise InvalidInput(code="import_too_many_rows", detail=f"表格超过 {MAX_ROWS} 行数据，请分批导入")
                cells = {name: texts[index] if index < len(texts) else "" for name, index in positions.items()}
                rows.append(_Row(number, {name: cells.get(name, "") for name in COLUMNS}))
    if not rows:
        raise InvalidInput(code="import_no_rows", detail="表格中只有表头，没有数据行")
    return rows


def _positions(header: list[str]) -> dict[str, int]:
    positions: dict[str, int] = {}
    problems: list[FieldProblem] = []
    for name, title in COLUMNS.items():
        found = [index for index, text in enumerate(header) if text == title]
        if len(found) > 1:
            problems.append(FieldProblem("第 1 行", f"列“{title}”出现了 {len(found)} 次", "import_row"))
        elif found:
            positions[name] = found[0]
        elif name not in OPTIONAL_COLUMNS:
            problems.append(FieldProblem("第 1 行", f"缺少列：{title}", "import_row"))
    if "unit_code" not in positions and "uscc" not in positions:
        problems.append(FieldProblem("第 1 行", "缺少列：实施主体编码或统一社会信用代码", "import_row"))
    if problems:
        raise InvalidInput(code="import_rows_invalid", detail="表头有误，未导入任何数据", errors=problems)
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
