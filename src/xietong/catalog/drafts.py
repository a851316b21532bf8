"""The matter editor's operations on draft versions: open a draft from the latest version, edit its limits,
fee, trips, materials, form and process (as BPMN from the designer), publish it with every problem listed,
and a matter's version history with the 五减 diff against the version before.

A draft may be edited in place (only published versions are immutable). The form schema and the materials
stay valid at every save (a save that breaks them is refused, naming each problem); the process may be saved
invalid — the designer's drawing is kept in ``draft_process`` with its problems and the draft cannot be
published until a valid process replaces it. Permissions: the caller checks ``may_administer`` through
:func:`administered_matter`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from xietong.catalog.bpmn_io import MAX_BPMN_BYTES
from xietong.catalog.forms import FormSchemaError, check_file_fields, parse_form_schema, parse_materials
from xietong.catalog.linear_process import with_facts
from xietong.catalog.models import BaseMatter, DraftProcess, LocalMatter, MatterVersion, ProcessDefinition
from xietong.catalog.reductions import (
    FIVE_REDUCTIONS,
    Reduction,
    VersionDiff,
    VersionFacts,
    VersionView,
    diff_versions,
    reductions,
    version_facts,
)
from xietong.catalog.service import KINDS, publish_version, store_process, user_steps
from xietong.catalog.situations import situation_problems
from xietong.db.base import utcnow
from xietong.directory.models import Region, Unit
from xietong.engine.bpmn import export_bpmn, import_bpmn
from xietong.engine.errors import ProcessDefinitionError
from xietong.errors import Conflict, FieldProblem, Forbidden, InvalidInput, NotFound, TooLarge
from xietong.security.permissions import ADMIN_ROLES, may_administer
from xietong.security.principal import Principal

LIST_LIMIT = 50


# --- who may edit what ----------------------------------------------------------------------------------------


def administered_regions(principal: Principal) -> frozenset[int] | None:
    """The regions whose matters the principal administers; None means every region."""
    if principal.kind == "system":
        return None
    regions: set[int] = set()
    for grant in principal.grants:
        if grant.role not in ADMIN_ROLES["catalog"]:
            continue
        if grant.scope_kind == "all":
            return None
        if grant.region_id is not None:
            regions.add(grant.region_id)
    return frozenset(regions)


def may_edit_matters(principal: Principal) -> bool:
    regions = administered_regions(principal)
    return regions is None or bool(regions)


def administered_matter(session: Session, principal: Principal, local_matter_id: int) -> LocalMatter:
    """The local matter, if the principal administers its region (else Forbidden; missing → NotFound)."""
    local = session.get(LocalMatter, local_matter_id)
    if local is None:
        raise NotFound(code="matter_not_found", detail="事项不存在")
    if not may_administer(principal, "catalog", region_id=local.region_id):
        raise Forbidden(code="not_catalog_admin", detail="只有该区划的事项管理员（改革办或系统管理员）可以维护事项")
    return local


def administered_version(session: Session, principal: Principal, version_id: int) -> MatterVersion:
    version = session.get(MatterVersion, version_id)
    if version is None:
        raise NotFound(code="version_not_found", detail="事项版本不存在")
    administered_matter(session, principal, version.local_matter_id)
    return version


@dataclass(frozen=True)
class MatterRow:
    id: int
    code: str
    name: str
    status: str
    region_name: str
    unit_name: str
    draft_version_id: int | None
    latest_number: int | None


def find_administered(session: Session, principal: Principal, *, keyword: str = "", after: str | None = None,
                      limit: int = LIST_LIMIT) -> list[MatterRow]:
    """Local matters the principal administers, by code, any status; ``after`` is the last code of the page before."""
    regions = administered_regions(principal)
    if regions is not None and not regions:
        return []
    latest = (select(MatterVersion.number).where(MatterVersion.local_matter_id == LocalMatter.id)
              .order_by(MatterVersion.number.desc()).limit(1).scalar_subquery())
    draft = (select(MatterVersion.id).where(MatterVersion.local_matter_id == LocalMatter.id,
                                            MatterVersion.status == "draft")
             .order_by(MatterVersion.number.desc()).limit(1).scalar_subquery())
    query = (
        select(LocalMatter, Region.name, Unit.name, draft, latest)
        .join(Region, Region.id == LocalMatter.region_id)
        .join(Unit, Unit.id == LocalMatter.handling_unit_id)
        .order_by(LocalMatter.code)
        .limit(limit)
    )
    if regions is not None:
        query = query.where(LocalMatter.region_id.in_(sorted(regions)))
    if keyword.strip():
        pattern = f"%{keyword.strip()}%"
        query = query.where(or_(LocalMatter.name.like(pattern), LocalMatter.code.like(pattern)))
    if after:
        query = query.where(LocalMatter.code > after)
    return [
        MatterRow(m.id, m.code, m.name, m.status, region, unit, draft_id, number)
        for m, region, unit, draft_id, number in session.execute(query)
    ]


# --- drafts ---------------------------------------------------------------------------------------------------


def open_draft(session: Session, *, local: LocalMatter) -> MatterVersion:
    """A new draft copied from the matter's latest version (from the base matter's templates if it has none)."""
    session.refresh(local, with_for_update=True)  # two administrators opening drafts at once: one waits
    existing = session.scalar(
        select(MatterVersion).where(MatterVersion.local_matter_id == local.id, MatterVersion.status == "draft")
    )
    if existing is not None:
        raise Conflict(code="draft_exists", detail=f"该事项已有草稿版本（第 {existing.number} 版），请继续编辑它")
    latest = session.scalar(
        select(MatterVersion).where(MatterVersion.local_matter_id == local.id)
        .order_by(MatterVersion.number.desc()).limit(1)
    )
    base = session.get(BaseMatter, local.base_matter_id)
    assert base is not None
    if latest is not None:
        body = session.get(ProcessDefinition, latest.process_definition_id)
        assert body is not None
        kind, legal, promised = latest.kind, latest.legal_limit_days, latest.promised_limit_days
        form, materials, process = latest.form_schema, latest.materials, body.body
        yellow = (latest.yellow_days, latest.yellow_ratio)
    else:
        if base.process_template is None:
            raise Conflict(code="no_template", detail="该事项还没有任何版本，基本目录也没有流程模板，无法建立草稿")
        kind, legal, promised = base.kind, base.legal_limit_days, base.legal_limit_days
        form = base.form_template or {"schema": "xietong.form/1", "fields": []}
        materials, process = base.materials_template or [], base.process_template
        yellow = (None, None)
    definition = store_process(session, process)
    version = MatterVersion(
        local_matter_id=local.id, number=(latest.number if latest else 0) + 1, status="draft", kind=kind,
        legal_limit_days=legal, promised_limit_days=promised, form_schema=form, materials=materials,
        process_definition_id=definition.id, yellow_days=yellow[0], yellow_ratio=yellow[1],
        situations=latest.situations if latest is not None else None,
    )
    session.add(version)
    session.flush()
    return version


def editable(session: Session, version_id: int) -> MatterVersion:
    """The draft version, locked for this transaction (published and retired versions are never edited)."""
    version = session.get(MatterVersion, version_id, with_for_update=True)
    if version is None:
        raise NotFound(code="version_not_found", detail="事项版本不存在")
    if version.status != "draft":
        raise Conflict(code="version_not_draft", detail="只有草稿版本可以修改；请先从最新版本建立草稿")
    return version


def editable_view(session: Session, version_id: int) -> MatterVersion:
    """The version row without a lock (for reading a draft's state)."""
    version = session.get(MatterVersion, version_id)
    if version is None:
        raise NotFound(code="version_not_found", detail="事项版本不存在")
    return version


def process_body(session: Session, version: MatterVersion) -> dict[str, Any]:
    definition = session.get(ProcessDefinition, version.process_definition_id)
    assert definition is not None
    return definition.body


def facts_of(session: Session, version: MatterVersion) -> VersionFacts:
    return version_facts(process_body(session, version))


def update_settings(session: Session, *, version: MatterVersion, kind: str, promised_limit_days: int,
                    fee_yuan: Decimal, trips: int) -> MatterVersion:
    """A draft's kind, promised limit, fee and required trips; every problem at once."""
    problems: list[FieldProblem] = []
    if kind not in KINDS:
        problems.append(FieldProblem("kind", "办件类型只能是即办件或承诺件", "bad_kind"))
    if not 0 <= promised_limit_days <= 365:
        problems.append(FieldProblem("promised_limit_days", "承诺时限应在 0 到 365 个工作日之间", "out_of_range"))
    elif kind == "promised" and promised_limit_days > version.legal_limit_days:
        problems.append(FieldProblem(
            "promised_limit_days", f"承诺时限不能超过法定时限（{version.legal_limit_days} 个工作日）",
            "limit_exceeds_legal"))
    if fee_yuan < 0 or fee_yuan >= Decimal("10000000000") or fee_yuan != fee_yuan.quantize(Decimal("0.01")):
        problems.append(FieldProblem("fee_yuan", "收费应为不小于 0 的金额，最多两位小数", "bad_fee"))
    if not 0 <= trips <= 99:
        problems.append(FieldProblem("trips", "到现场次数应在 0 到 99 之间", "bad_trips"))
    if problems:
        raise InvalidInput(code="settings_invalid", detail=f"有 {len(problems)} 处需要修改", errors=problems)
    version.kind, version.promised_limit_days = kind, promised_limit_days
    body = with_facts(process_body(session, version), fee=fee_yuan, trips=trips)
    version.process_definition_id = store_process(session, body).id
    session.flush()
    return version


def save_content(session: Session, *, version: MatterVersion, form_schema: dict[str, Any] | None = None,
                 materials: list[Any] | None = None) -> MatterVersion:
    """Replace a draft's form schema and/or materials; refused (nothing saved) unless both stay valid together."""
    form = version.form_schema if form_schema is None else form_schema
    listed = version.materials if materials is None else materials
    problems = content_problems(form, listed)
    if problems:
        raise InvalidInput(code="version_invalid", detail=f"有 {len(problems)} 处问题，未保存", errors=problems)
    version.form_schema, version.materials = form, listed
    session.flush()
    return version


def content_problems(form_schema: dict[str, Any], materials: list[Any]) -> list[FieldProblem]:
    """The form schema's and the materials' problems (file fields must name a listed material)."""
    problems: list[FieldProblem] = []
    schema = parsed = None
    try:
        schema = parse_form_schema(form_schema)
    except FormSchemaError as exc:
        problems += [FieldProblem(f"form.{p.path}", f"表单 {p.path}：{p.message}", "form_schema") for p in exc.problems]
    try:
        parsed = parse_materials(materials)
    except FormSchemaError as exc:
        problems += [FieldProblem(f"materials.{p.path}", f"材料 {p.path}：{p.message}", "materials")
                     for p in exc.problems]
    if schema is not None and parsed is not None:
        problems += [FieldProblem(f"form.{p.path}", f"表单 {p.path}：{p.message}", "file_material")
                     for p in check_file_fields(schema, parsed)]
    return problems


# --- the process from the designer -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessProblem:
    """One problem of a designed process, on the BPMN element it concerns (``element`` may be empty)."""

    element: str
    line: int
    message: str
    code: str


def save_process(session: Session, *, version: MatterVersion, bpmn: bytes,
                 person_id: int | None) -> list[ProcessProblem]:
    """Import the designer's BPMN into the draft. Valid → it becomes the draft's process (its fee and trips kept)
    and the problems are empty; invalid → the drawing is kept with its problems and the draft is not publishable.
    Unreadable XML is refused outright (there would be nothing to show again)."""
    if len(bpmn) > MAX_BPMN_BYTES:
        raise TooLarge(code="bpmn_too_large", detail=f"BPMN 文件过大，上限为 {MAX_BPMN_BYTES // (1024 * 1024)} MB",
                       extra={"limit": MAX_BPMN_BYTES, "size": len(bpmn)})
    try:
        body = import_bpmn(bpmn)
    except ProcessDefinitionError as exc:
        if _unreadable(exc):
            raise
        problems = _problems(exc)
        _keep_drawing(session, version, bpmn, problems, person_id)
        return problems
    facts = facts_of(session, version)
    extensions = dict(process_body(session, version).get("extensions") or {})
    body = {key: value for key, value in body.items() if key != "extensions"}
    if extensions:
        body["extensions"] = extensions  # fee, trips and other settings belong to the settings form, not the drawing
    body = with_facts(body, fee=facts.fee_yuan, trips=facts.trips)
    version.process_definition_id = store_process(session, body).id
    session.execute(delete(DraftProcess).where(DraftProcess.version_id == version.id))
    session.flush()
    return []


def _unreadable(exc: ProcessDefinitionError) -> bool:
    """The XML itself could not be parsed (as opposed to parsed BPMN with problems)."""
    return any(p.code.startswith("xml") or p.code == "bpmn_root" for p in exc.errors)


def _problems(exc: ProcessDefinitionError) -> list[ProcessProblem]:
    locations = (exc.extra or {}).get("locations") or [{}] * len(exc.errors)
    return [
        ProcessProblem(str(where.get("id") or ""), int(where.get("line") or 0), problem.message, problem.code)
        for problem, where in zip(exc.errors, locations, strict=False)
    ]


def _keep_drawing(session: Session, version: MatterVersion, bpmn: bytes, problems: list[ProcessProblem],
                  person_id: int | None) -> None:
    row = session.get(DraftProcess, version.id)
    listed = [p.__dict__ for p in problems]
    if row is None:
        session.add(DraftProcess(version_id=version.id, bpmn=bpmn.decode("utf-8", "replace"), problems=listed,
                                 saved_by_id=person_id))
    else:
        row.bpmn, row.problems, row.saved_at, row.saved_by_id = (
            bpmn.decode("utf-8", "replace"), listed, utcnow(), person_id)
    session.flush()


def designer_bpmn(session: Session, version: MatterVersion) -> tuple[str, list[ProcessProblem]]:
    """What the designer opens: the kept invalid drawing with its problems, else the version's process as BPMN."""
    row = session.get(DraftProcess, version.id) if version.status == "draft" else None
    if row is not None:
        return row.bpmn, [ProcessProblem(**p) for p in row.problems]
    return export_bpmn(process_body(session, version)).decode(), []


# --- publishing -----------------------------------------------------------------------------------------------


def publish_problems(session: Session, version: MatterVersion) -> list[FieldProblem]:
    """Everything that stops a draft from being published, in Chinese."""
    problems = content_problems(version.form_schema, version.materials)
    if version.kind == "promised" and version.promised_limit_days > version.legal_limit_days:
        problems.append(FieldProblem("promised_limit_days", "承诺时限不能超过法定时限", "limit_exceeds_legal"))
    row = session.get(DraftProcess, version.id)
    if row is not None:
        problems += [FieldProblem(f"process.{p['element'] or 'process'}", f"流程：{p['message']}", p["code"])
                     for p in row.problems]
    if version.situations is not None:  # the form, materials or process may have changed since they were saved
        problems += situation_problems(version.situations, form_schema=version.form_schema,
                                       materials=version.materials, steps=user_steps(process_body(session, version)))
    return problems


def save_situations(session: Session, *, version: MatterVersion, situations: dict[str, Any] | None) -> None:
    """Replace a draft's 办理情形 (None removes them); refused with every problem, nothing saved."""
    if situations is not None:
        problems = situation_problems(situations, form_schema=version.form_schema, materials=version.materials,
                                      steps=user_steps(process_body(session, version)))
        if problems:
            raise InvalidInput(code="situations_invalid", detail=f"办理情形有 {len(problems)} 处问题",
                               errors=problems)
    version.situations = situations
    session.flush()


def publish_draft(session: Session, *, version: MatterVersion) -> MatterVersion:
    """Publish a draft after checking it whole; refused with every problem listed."""
    problems = publish_problems(session, version)
    if problems:
        raise InvalidInput(code="version_not_publishable", detail=f"草稿有 {len(problems)} 处问题，不能发布",
                           errors=problems)
    return publish_version(session, version_id=version.id)


# --- history --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    version: Any  # the MatterVersion row (the web layer swaps in a plain copy)
    facts: VersionFacts
    diff: VersionDiff | None  # against the version before (None for the first)
    figures: dict[str, Reduction]
    invalid_process: bool


def history(session: Session, local: LocalMatter) -> list[HistoryEntry]:
    """Every version of the matter, newest first, each with its 五减 diff against the one before."""
    rows = session.execute(
        select(MatterVersion, ProcessDefinition.body)
        .join(ProcessDefinition, ProcessDefinition.id == MatterVersion.process_definition_id)
        .where(MatterVersion.local_matter_id == local.id)
        .order_by(MatterVersion.number)
    ).all()
    pending = set(session.scalars(select(DraftProcess.version_id).where(
        DraftProcess.version_id.in_([v.id for v, _ in rows]))))
    entries: list[HistoryEntry] = []
    before: VersionView | None = None
    for version, body in rows:
        try:
            view = VersionView.of(version, body)
        except (FormSchemaError, ProcessDefinitionError, InvalidInput):
            view = None
        diff = diff_versions(before, view) if before is not None and view is not None else None
        entries.append(HistoryEntry(version, version_facts(body) if view else VersionFacts(), diff,
                                    reductions(diff, FIVE_REDUCTIONS) if diff else {}, version.id in pending))
        before = view or before
    return entries[::-1]
