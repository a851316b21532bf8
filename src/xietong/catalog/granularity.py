"""Matter granularity: splitting a base matter into sub-items, the lineage of splits and merges, lineage keys.

A **split** turns a base matter into N children (主项 → 子项, or 子项 → 业务办理项), each a new base matter with
the code ``{parent}.{nn}``; every local implementation of the parent gets one child implementation per child
with a draft version copied from the parent's latest version and trimmed to the materials and fields the
child keeps. A **merge** (一件事, ``catalog/merging.py``) turns several local matters into one joint matter.
Both record one ``matter_lineage`` row per (predecessor, successor) and keep ``lineage_key`` so that every
matter joined by splits and merges shares one key: the monitor's "follow lineage" figures group by it.
Predecessors retire once their successors are all published (``service.publish_version``); running cases keep
their versions. See docs/granularity.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from xietong.catalog import service as catalog
from xietong.catalog.drafts import content_problems
from xietong.catalog.models import BaseMatter, LocalMatter, MatterLineage, MatterVersion, ProcessDefinition
from xietong.catalog.schemas import LineageEdgeOut, LineageOut
from xietong.catalog.situations import situation_problems, trim_fields
from xietong.errors import Conflict, FieldProblem, InvalidInput, NotFound

#: the level a split gives its children, by the parent's level (None: an unsplit matter becomes 主项)
CHILD_LEVEL = {None: "sub", "main": "sub", "sub": "task"}
LEVEL_NAMES = {None: "事项", "main": "主项", "sub": "子项", "task": "业务办理项"}
MAX_CHILDREN = 20
BASE_CODE_LENGTH: int = BaseMatter.__table__.c.code.type.length  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SubItem:
    """One child of a split: its name and what it keeps of the parent (None = everything)."""

    name: str
    materials: tuple[str, ...] | None = None
    fields: tuple[str, ...] | None = None


def parse_sub_item(text: str) -> SubItem:
    """``名称|M01,M02|title,kind`` → SubItem (an empty or missing part keeps everything), as the CLI and the
    page take them."""
    parts = [p.strip() for p in text.split("|")]
    if len(parts) > 3 or not parts[0]:
        raise InvalidInput(code="bad_item", detail=f"子项写法有误：{text}（应为 名称|材料编码,…|字段,…）",
                           errors=[FieldProblem("items", text, "bad_item")])

    def listed(index: int) -> tuple[str, ...] | None:
        if len(parts) <= index or not parts[index]:
            return None
        return tuple(p.strip() for p in parts[index].split(",") if p.strip()) or None

    return SubItem(name=parts[0], materials=listed(1), fields=listed(2))


@dataclass
class ChildImplementation:
    parent_local_id: int
    parent_code: str
    code: str
    region_id: int
    handling_unit_id: int
    form_schema: dict[str, Any]
    materials: list[Any]
    process: dict[str, Any]
    kind: str
    legal_limit_days: int
    promised_limit_days: int
    dropped_fields: list[str] = field(default_factory=list)
    situations: dict[str, Any] | None = None
    situations_dropped: bool = False  # the parent's 办理情形 name what this child no longer has


@dataclass
class ChildPlan:
    code: str
    name: str
    level: str
    implementations: list[ChildImplementation]


@dataclass
class SplitPlan:
    """What a split would write; ``split_matter`` writes exactly this."""

    base_id: int
    base_code: str
    parent_level: str
    children: list[ChildPlan]

    def described(self) -> dict[str, Any]:
        return {
            "base_matter_id": self.base_id, "base_code": self.base_code, "parent_level": self.parent_level,
            "children": [
                {"code": c.code, "name": c.name, "level": c.level, "implementations": [
                    {"from": i.parent_code, "code": i.code, "materials": [m["code"] for m in i.materials],
                     "fields": [f["key"] for f in i.form_schema.get("fields", [])], "dropped_fields": i.dropped_fields,
                     "situations_dropped": i.situations_dropped}
                    for i in c.implementations]}
                for c in self.children
            ],
        }


@dataclass
class SplitResult:
    operation: str
    plan: SplitPlan
    base_ids: list[int]
    local_ids: list[int]
    version_ids: list[int]


# --- split ----------------------------------------------------------------------------------------------------


def plan_split(session: Session, *, base_matter_id: int, items: Sequence[SubItem]) -> SplitPlan:
    """The children a split would create (dry run): codes, each implementation's trimmed content, what it drops."""
    base = session.get(BaseMatter, base_matter_id)
    if base is None:
        raise NotFound(code="base_matter_not_found", detail="基本目录事项不存在")
    problems: list[FieldProblem] = []
    if base.level not in CHILD_LEVEL:
        raise Conflict(code="cannot_split_task", detail="业务办理项已是最细的一级，不能再拆分")
    if session.scalar(select(BaseMatter.id).where(BaseMatter.parent_id == base.id).limit(1)) is not None:
        raise Conflict(code="already_split", detail=f"事项 {base.code} 已拆分过；请拆分它的子项")
    if not 2 <= len(items) <= MAX_CHILDREN:
        problems.append(FieldProblem("items", f"拆分应得到 2 至 {MAX_CHILDREN} 个子项", "bad_item_count"))
    for n, item in enumerate(items):
        if not item.name.strip() or len(item.name) > 200:
            problems.append(FieldProblem(f"items[{n}].name", "子项名称不能为空，至多 200 字", "bad_name"))
    names = [i.name.strip() for i in items]
    if len(set(names)) != len(names):
        problems.append(FieldProblem("items", "子项名称不能重复", "duplicate_name"))
    codes = [f"{base.code}.{n + 1:02d}" for n in range(len(items))]
    if codes and len(codes[-1]) > BASE_CODE_LENGTH:
        problems.append(FieldProblem("base_code", f"子项编码 {codes[-1]} 超过 {BASE_CODE_LENGTH} 个字符",
                                     "code_too_long"))
    taken = set(session.scalars(select(BaseMatter.code).where(BaseMatter.code.in_(codes))))
    problems += [FieldProblem("items", f"编码 {c} 已被其他基本目录事项占用", "duplicate_code") for c in sorted(taken)]
    locals_ = session.scalars(
        select(LocalMatter).where(LocalMatter.base_matter_id == base.id, LocalMatter.status != "retired")
        .order_by(LocalMatter.id)
    ).all()
    sources = {local.id: _latest_version(session, local.id) for local in locals_}
    for local in locals_:
        if sources[local.id] is None:
            problems.append(FieldProblem("implementations", f"实施清单 {local.code} 还没有任何版本，无法拆分",
                                         "no_version"))
    level = CHILD_LEVEL[base.level]
    children: list[ChildPlan] = []
    for n, (item, code) in enumerate(zip(items, codes, strict=True)):
        implementations = []
        for local in locals_:
            source = sources[local.id]
            if source is None:
                continue
            child = _child_implementation(session, local, source, item, code, f"items[{n}]", problems)
            implementations.append(child)
        children.append(ChildPlan(code=code, name=item.name.strip(), level=level, implementations=implementations))
    _number_codes(session, children)
    if problems:
        raise InvalidInput(code="split_invalid", detail=f"拆分方案有 {len(problems)} 处问题", errors=problems)
    return SplitPlan(base_id=base.id, base_code=base.code, parent_level=base.level or "main", children=children)


def _latest_version(session: Session, local_id: int) -> MatterVersion | None:
    """The published version, else the newest one."""
    return session.scalar(
        select(MatterVersion).where(MatterVersion.local_matter_id == local_id)
        .order_by((MatterVersion.status == "published").desc(), MatterVersion.number.desc()).limit(1)
    )


def _child_implementation(
    session: Session, local: LocalMatter, source: MatterVersion, item: SubItem, code: str, path: str,
    problems: list[FieldProblem],
) -> ChildImplementation:
    materials = list(source.materials)
    known = {m["code"] for m in materials}
    if item.materials is not None:
        problems += [FieldProblem(f"{path}.materials", f"实施清单 {local.code} 没有材料 {c}", "unknown_material")
                     for c in item.materials if c not in known]
        materials = [m for m in materials if m["code"] in item.materials]
    fields = list(source.form_schema.get("fields", []))
    if item.fields is not None:
        keys = {f["key"] for f in fields}
        problems += [FieldProblem(f"{path}.fields", f"实施清单 {local.code} 的表单没有字段 {k}", "unknown_field")
                     for k in item.fields if k not in keys]
    kept, dropped = trim_fields(fields, keep=item.fields, materials={m["code"] for m in materials})
    form = {**source.form_schema, "fields": kept}
    problems += [FieldProblem(f"{path}.{p.field}", f"{local.code}：{p.message}", p.code)
                 for p in content_problems(form, materials)]
    definition = session.get(ProcessDefinition, source.process_definition_id)
    assert definition is not None
    situations = source.situations
    dropped_situations = situations is not None and bool(situation_problems(
        situations, form_schema=form, materials=materials, steps=catalog.user_steps(definition.body)))
    return ChildImplementation(
        parent_local_id=local.id, parent_code=local.code, code=code, region_id=local.region_id,
        handling_unit_id=local.handling_unit_id, form_schema=form, materials=materials, process=definition.body,
        kind=source.kind, legal_limit_days=source.legal_limit_days, promised_limit_days=source.promised_limit_days,
        dropped_fields=dropped, situations=None if dropped_situations else situations,
        situations_dropped=dropped_situations,
    )


def _number_codes(session: Session, children: list[ChildPlan]) -> None:
    """Each child implementation's code by the scheme, items numbered past codes already taken."""
    for child in children:
        for impl in child.implementations:
            impl.code = catalog.next_local_matter_code(
                session, base_code=child.code, region_id=impl.region_id, handling_unit_id=impl.handling_unit_id
            )


def split_matter(
    session: Session, *, base_matter_id: int, items: Sequence[SubItem], reason: str, by_id: int | None,
    publish: bool = False,
) -> SplitResult:
    """Split a base matter and its implementations into sub-items; with ``publish`` the children's drafts are
    published at once and the parent's implementations retire (otherwise when the last child is published)."""
    plan = plan_split(session, base_matter_id=base_matter_id, items=items)
    base = session.get(BaseMatter, base_matter_id, with_for_update=True)
    assert base is not None
    _require_reason(reason)
    operation = uuid.uuid4().hex
    base.level = plan.parent_level
    base_ids, local_ids, version_ids = [], [], []
    for child in plan.children:
        sub = catalog.create_base_matter(
            session, code=child.code, name=child.name, kind=base.kind, legal_limit_days=base.legal_limit_days,
            function=base.function, legal_basis=base.legal_basis,
        )
        sub.parent_id, sub.level = base.id, child.level
        sub.form_template, sub.materials_template = _trimmed_templates(base, child)
        sub.process_template = base.process_template
        base_ids.append(sub.id)
        for impl in child.implementations:
            parent = session.get(LocalMatter, impl.parent_local_id, with_for_update=True)
            assert parent is not None
            local = catalog.create_local_matter(
                session, base=sub, region_id=impl.region_id, handling_unit_id=impl.handling_unit_id, code=impl.code,
            )
            local.lineage_key = parent.lineage_key
            version = catalog.draft_version(
                session, local=local, form_schema=impl.form_schema, materials=impl.materials, process=impl.process,
                promised_limit_days=impl.promised_limit_days, kind=impl.kind, legal_limit_days=impl.legal_limit_days,
                situations=impl.situations,
            )
            _copy_yellow(session, impl.parent_local_id, version)
            record_lineage(session, operation=operation, kind="split", predecessor=parent, successor=local,
                           reason=reason, by_id=by_id)
            local_ids.append(local.id)
            version_ids.append(version.id)
    session.flush()
    if publish:
        for version_id in version_ids:
            catalog.publish_version(session, version_id=version_id)
    return SplitResult(operation=operation, plan=plan, base_ids=base_ids, local_ids=local_ids,
                       version_ids=version_ids)


def _trimmed_templates(base: BaseMatter, child: ChildPlan) -> tuple[dict[str, Any] | None, list[Any] | None]:
    """The parent's templates trimmed as the child's first implementation was (None stays None)."""
    if not child.implementations:
        return base.form_template, base.materials_template
    impl = child.implementations[0]
    codes = {m["code"] for m in impl.materials}
    keys = {f["key"] for f in impl.form_schema.get("fields", [])}
    form = base.form_template
    if form is not None:
        form = {**form, "fields": [f for f in form.get("fields", []) if f.get("key") in keys]}
    materials = None if base.materials_template is None else [
        m for m in base.materials_template if m.get("code") in codes]
    return form, materials


def _copy_yellow(session: Session, source_local_id: int, version: MatterVersion) -> None:
    source = _latest_version(session, source_local_id)
    if source is not None:
        version.yellow_days, version.yellow_ratio = source.yellow_days, source.yellow_ratio


def _require_reason(reason: str) -> None:
    if not reason.strip() or len(reason) > 500:
        raise InvalidInput(code="reason_required", detail="请写明拆分或合并的理由（至多 500 字）",
                           errors=[FieldProblem("reason", "理由不能为空", "required")])


# --- lineage --------------------------------------------------------------------------------------------------


def record_lineage(
    session: Session, *, operation: str, kind: str, predecessor: LocalMatter, successor: LocalMatter, reason: str,
    by_id: int | None,
) -> MatterLineage:
    """One edge: ``predecessor`` became (part of) ``successor``."""
    row = MatterLineage(
        operation=operation, kind=kind, predecessor_id=predecessor.id, predecessor_code=predecessor.code,
        successor_id=successor.id, successor_code=successor.code, reason=reason.strip(), by_id=by_id,
    )
    session.add(row)
    session.flush()
    return row


def join_lineage(session: Session, *, keys: Iterable[str], into: str) -> int:
    """Give every matter whose lineage key is in ``keys`` the key ``into``; the number of matters relabelled."""
    result = session.execute(
        update(LocalMatter).where(LocalMatter.lineage_key.in_(sorted(set(keys)))).values(lineage_key=into)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def lineage_of(session: Session, *, local_matter_id: int) -> LineageOut:
    """A local matter's lineage group: its key, every matter sharing it and every split and merge among them,
    oldest first."""
    local = session.get(LocalMatter, local_matter_id)
    if local is None:
        raise NotFound(code="matter_not_found", detail="事项不存在")
    members = session.execute(
        select(LocalMatter.id, LocalMatter.code, LocalMatter.name, LocalMatter.status, LocalMatter.handling_unit_id)
        .where(LocalMatter.lineage_key == local.lineage_key).order_by(LocalMatter.id)
    ).mappings().all()
    ids = [m["id"] for m in members]
    rows = session.scalars(
        select(MatterLineage).where(MatterLineage.successor_id.in_(ids)).order_by(MatterLineage.at, MatterLineage.id)
    ).all()
    edges = [LineageEdgeOut(operation=r.operation, kind=r.kind, predecessor_id=r.predecessor_id,
                            predecessor_code=r.predecessor_code, successor_id=r.successor_id,
                            successor_code=r.successor_code, reason=r.reason, at=r.at.isoformat(), by_id=r.by_id)
             for r in rows]
    return LineageOut(local_matter_id=local.id, lineage_key=local.lineage_key, members=[dict(m) for m in members],
                      edges=edges)
