"""Matter library operations: base and local matters, drafting and publishing immutable versions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from xietong.catalog.codes import next_local_matter_code
from xietong.catalog.forms import FormSchemaError, check_file_fields, parse_form_schema, parse_materials
from xietong.catalog.models import (
    BaseMatter,
    DraftProcess,
    LocalMatter,
    MatterLineage,
    MatterVersion,
    ProcessDefinition,
)
from xietong.catalog.situations import situation_problems
from xietong.db.base import utcnow
from xietong.directory.models import Unit
from xietong.engine.definition import compile_process, definition_digest
from xietong.errors import Conflict, FieldProblem, InvalidInput, NotFound

KINDS = ("immediate", "promised")


def create_base_matter(
    session: Session,
    *,
    code: str,
    name: str,
    kind: str,
    legal_limit_days: int,
    function: str | None = None,
    legal_basis: str = "",
) -> BaseMatter:
    """Define a matter once for the whole city (基本目录)."""
    if kind not in KINDS:
        raise InvalidInput(code="bad_kind", detail="事项类型只能是即办件或承诺件")
    if session.scalar(select(BaseMatter.id).where(BaseMatter.code == code)) is not None:
        raise Conflict(code="duplicate_code", detail=f"事项编码已存在：{code}")
    matter = BaseMatter(
        code=code, name=name, kind=kind, legal_limit_days=legal_limit_days, function=function, legal_basis=legal_basis
    )
    session.add(matter)
    session.flush()
    return matter


def create_local_matter(
    session: Session,
    *,
    base: BaseMatter,
    region_id: int,
    handling_unit_id: int,
    code: str | None = None,
    name: str | None = None,
) -> LocalMatter:
    """Implement a base matter in a region by a handling unit (实施清单); the code follows catalog/codes.py."""
    _require_active_unit(session, handling_unit_id)
    if session.scalar(select(BaseMatter.id).where(BaseMatter.parent_id == base.id).limit(1)) is not None:
        raise Conflict(code="matter_split", detail=f"事项 {base.code} 已拆分为子项，只能实施其子项（业务办理项）")
    if not code:
        code = next_local_matter_code(
            session, base_code=base.code, region_id=region_id, handling_unit_id=handling_unit_id
        )
    local = LocalMatter(
        base_matter_id=base.id,
        code=code,
        name=name or base.name,
        region_id=region_id,
        handling_unit_id=handling_unit_id,
        status="draft",
        lineage_key=code,
    )
    session.add(local)
    session.flush()
    return local


def store_process(session: Session, body: dict[str, Any]) -> ProcessDefinition:
    """Validate a process definition and store it once per distinct content."""
    compile_process(body)
    digest = definition_digest(body)
    existing = session.scalar(select(ProcessDefinition).where(ProcessDefinition.digest == digest))
    if existing is not None:
        return existing
    definition = ProcessDefinition(digest=digest, body=body)
    session.add(definition)
    session.flush()
    return definition


def draft_version(
    session: Session,
    *,
    local: LocalMatter,
    form_schema: dict[str, Any],
    materials: list[Any],
    process: dict[str, Any],
    promised_limit_days: int,
    kind: str | None = None,
    legal_limit_days: int | None = None,
    situations: dict[str, Any] | None = None,
) -> MatterVersion:
    """A new draft version of a local matter; everything in it is validated now, not at publication."""
    base = session.get(BaseMatter, local.base_matter_id)
    assert base is not None
    kind = kind or base.kind
    legal = base.legal_limit_days if legal_limit_days is None else legal_limit_days
    problems = _content_problems(form_schema, materials)
    if promised_limit_days > legal and kind == "promised":
        problems.append(FieldProblem("promised_limit_days", "承诺时限不能超过法定时限", "limit_exceeds_legal"))
    if situations is not None:
        problems += situation_problems(situations, form_schema=form_schema, materials=materials,
                                       steps=user_steps(process))
    if problems:
        raise InvalidInput(code="version_invalid", detail=f"事项版本有 {len(problems)} 处问题", errors=problems)
    definition = store_process(session, process)
    latest = session.execute(
        select(MatterVersion.number, MatterVersion.yellow_days, MatterVersion.yellow_ratio)
        .where(MatterVersion.local_matter_id == local.id)
        .order_by(MatterVersion.number.desc())
        .limit(1)
    ).first()
    version = MatterVersion(
        local_matter_id=local.id,
        number=(latest.number if latest else 0) + 1,
        # A new version keeps the yellow-card settings of the one before unless they are changed on purpose.
        yellow_days=latest.yellow_days if latest else None,
        yellow_ratio=latest.yellow_ratio if latest else None,
        status="draft",
        kind=kind,
        legal_limit_days=legal,
        promised_limit_days=promised_limit_days,
        form_schema=form_schema,
        materials=materials,
        process_definition_id=definition.id,
        situations=situations,
    )
    session.add(version)
    session.flush()
    return version


def user_steps(process: dict[str, Any]) -> dict[str, str]:
    """A process body's user tasks, id → name (what 办理情形 may skip)."""
    return {n["id"]: n.get("name") or n["id"] for n in process.get("nodes", []) if n.get("type") == "user_task"}


def _content_problems(form_schema: dict[str, Any], materials: list[Any]) -> list[FieldProblem]:
    try:
        schema = parse_form_schema(form_schema)
        parsed = parse_materials(materials)
    except FormSchemaError as exc:
        return [FieldProblem(p.path, p.message, "schema") for p in exc.problems]
    return [FieldProblem(p.path, p.message, "schema") for p in check_file_fields(schema, parsed)]


def publish_version(session: Session, *, version_id: int) -> MatterVersion:
    """Publish a draft: it becomes immutable, and the previously published version is retired."""
    version = session.get(MatterVersion, version_id, with_for_update=True)
    if version is None:
        raise NotFound(code="version_not_found", detail="事项版本不存在")
    if version.status != "draft":
        raise Conflict(code="version_not_draft", detail="只有草稿版本可以发布")
    local = session.get(LocalMatter, version.local_matter_id)
    assert local is not None
    _require_active_unit(session, local.handling_unit_id)
    if session.get(DraftProcess, version_id) is not None:  # the designer saved a process that does not validate
        raise InvalidInput(code="version_not_publishable",
                           detail="草稿的流程设计还有问题，修改并保存通过校验后才能发布")
    now = utcnow()
    session.execute(
        update(MatterVersion)
        .where(MatterVersion.local_matter_id == version.local_matter_id, MatterVersion.status == "published")
        .values(status="retired", retired_at=now)
    )
    version.status, version.published_at = "published", now
    session.execute(update(LocalMatter).where(LocalMatter.id == version.local_matter_id).values(status="published"))
    session.flush()
    _retire_replaced(session, version.local_matter_id)
    return version


def _require_active_unit(session: Session, unit_id: int) -> None:
    """A retired unit (停用, or merged away in a 机构改革) gets no new matter and no new published version."""
    unit = session.get(Unit, unit_id)
    if unit is not None and not unit.active:
        raise Conflict(code="unit_inactive", detail=f"承办单位“{unit.name}”已停用，不能为其新增或发布事项")


def _retire_replaced(session: Session, local_matter_id: int) -> None:
    """A split's or merge's predecessor retires once every successor of that operation is published
    (docs/granularity.md); its running cases keep their version."""
    edges = session.execute(
        select(MatterLineage.operation, MatterLineage.predecessor_id)
        .where(MatterLineage.successor_id == local_matter_id)
    ).all()
    for operation, predecessor_id in edges:
        waiting = session.scalar(
            select(LocalMatter.id).join(MatterLineage, MatterLineage.successor_id == LocalMatter.id)
            .where(MatterLineage.operation == operation, MatterLineage.predecessor_id == predecessor_id,
                   LocalMatter.status != "published").limit(1)
        )
        status = session.scalar(select(LocalMatter.status).where(LocalMatter.id == predecessor_id))
        if waiting is None and status == "published":
            retire_matter(session, local_matter_id=predecessor_id)


def retire_matter(session: Session, *, local_matter_id: int) -> LocalMatter:
    """Stop offering a local matter (废止): its published version retires; running cases keep their version."""
    local = session.get(LocalMatter, local_matter_id, with_for_update=True)
    if local is None:
        raise NotFound(code="matter_not_found", detail="事项不存在")
    if local.status != "published":
        raise Conflict(code="matter_not_published", detail="只有已发布的事项可以废止")
    session.execute(
        update(MatterVersion)
        .where(MatterVersion.local_matter_id == local_matter_id, MatterVersion.status == "published")
        .values(status="retired", retired_at=utcnow())
    )
    local.status = "retired"
    session.flush()
    return local
