"""Merging several local matters into one joint matter (一件事): one application, one process across units.

The joint matter is a new base matter with one implementation, handled by the lead unit, in the originals'
region. Its current version is built from the originals' published versions: the form's fields in order
(a key already taken is the same field and kept once), the materials de-duplicated by code, then by name
(a file field of a merged material points at the one kept), and a process that runs the originals' processes
— one after another (``sequential``: limits add up), or side by side between a parallel split and its join
(``parallel``, for originals that do not depend on each other: the longest limit counts) — each step still
assigned to the unit that handled it (``handling_unit`` becomes that unit by code). Lineage: every original →
the joint matter, all under one lineage key.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.catalog import service as catalog
from xietong.catalog.drafts import content_problems
from xietong.catalog.granularity import _require_reason, join_lineage, record_lineage
from xietong.catalog.models import BaseMatter, LocalMatter, MatterVersion, ProcessDefinition
from xietong.directory.models import Unit
from xietong.engine.definition import compile_process
from xietong.engine.errors import ProcessDefinitionError
from xietong.errors import Conflict, FieldProblem, InvalidInput, NotFound

MAX_MERGED = 10
Layout = Literal["sequential", "parallel"]
LAYOUTS: dict[str, str] = {"sequential": "依次办理", "parallel": "并联办理"}
_STEPS_DOT = re.compile(r"\bsteps\.([A-Za-z_][A-Za-z0-9_]*)")
_STEPS_INDEX = re.compile(r"""\bsteps\[(["'])([A-Za-z_][A-Za-z0-9_\-]*)\1\]""")


@dataclass
class MergedMaterial:
    """A material of the joint matter and the originals' materials it stands for (matter code, material code)."""

    code: str
    name: str
    sources: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class MergePlan:
    """What a merge would write; ``merge_matters`` writes exactly this."""

    code: str
    name: str
    region_id: int
    handling_unit_id: int
    originals: list[tuple[int, str]]  # (local matter id, code), in process order
    kind: str
    legal_limit_days: int
    promised_limit_days: int
    form_schema: dict[str, Any]
    materials: list[dict[str, Any]]
    merged_materials: list[MergedMaterial]
    shared_fields: list[str]
    process: dict[str, Any]
    local_code: str = ""
    layout: Layout = "sequential"

    def described(self) -> dict[str, Any]:
        return {
            "code": self.code, "name": self.name, "local_code": self.local_code, "region_id": self.region_id,
            "handling_unit_id": self.handling_unit_id, "layout": self.layout, "kind": self.kind,
            "legal_limit_days": self.legal_limit_days,
            "promised_limit_days": self.promised_limit_days,
            "originals": [{"id": i, "code": c} for i, c in self.originals],
            "materials": [{"code": m["code"], "name": m["name"], "required": m.get("required", False)}
                          for m in self.materials],
            "merged_materials": [{"code": m.code, "name": m.name,
                                  "sources": [{"matter": s[0], "material": s[1]} for s in m.sources]}
                                 for m in self.merged_materials if len(m.sources) > 1],
            "shared_fields": self.shared_fields,
            "steps": [n["id"] for n in self.process["nodes"] if n["type"] == "user_task"],
        }


@dataclass
class MergeResult:
    operation: str
    plan: MergePlan
    base_id: int
    local_id: int
    version_id: int


def plan_merge(
    session: Session, *, local_matter_ids: Sequence[int], code: str, name: str, lead_id: int | None = None,
    layout: Layout = "sequential",
) -> MergePlan:
    """The joint matter a merge would create (dry run), with every problem at once."""
    ids = list(dict.fromkeys(local_matter_ids))
    if not 2 <= len(ids) <= MAX_MERGED:
        raise InvalidInput(code="merge_invalid", detail=f"一件事应由 2 至 {MAX_MERGED} 个不同的事项合并而成",
                           errors=[FieldProblem("local_matter_ids", "事项数量不对", "bad_count")])
    problems: list[FieldProblem] = []
    originals: list[tuple[LocalMatter, MatterVersion, dict[str, Any]]] = []
    for local_id in ids:
        local = session.get(LocalMatter, local_id)
        if local is None:
            raise NotFound(code="matter_not_found", detail=f"事项不存在：{local_id}")
        version = session.scalar(select(MatterVersion).where(
            MatterVersion.local_matter_id == local_id, MatterVersion.status == "published"))
        if version is None:
            problems.append(FieldProblem("local_matter_ids", f"事项 {local.code} 没有已发布的版本", "not_published"))
            continue
        body = session.get(ProcessDefinition, version.process_definition_id)
        assert body is not None
        originals.append((local, version, body.body))
    regions = {local.region_id for local, _, _ in originals}
    if len(regions) > 1:
        problems.append(FieldProblem("local_matter_ids", "一件事只能合并同一区划的事项", "regions_differ"))
    if not name.strip() or len(name) > 200:
        problems.append(FieldProblem("name", "一件事名称不能为空，至多 200 字", "bad_name"))
    if session.scalar(select(BaseMatter.id).where(BaseMatter.code == code)) is not None:
        problems.append(FieldProblem("code", f"基本目录编码已存在：{code}", "duplicate_code"))
    if layout not in LAYOUTS:
        problems.append(FieldProblem("layout", "办理方式只能是依次办理（sequential）或并联办理（parallel）",
                                     "bad_layout"))
    if lead_id is not None and lead_id not in ids:
        problems.append(FieldProblem("lead_id", "牵头事项须是被合并的事项之一", "bad_lead"))
    if problems:
        raise InvalidInput(code="merge_invalid", detail=f"合并方案有 {len(problems)} 处问题", errors=problems)
    lead = next(local for local, _, _ in originals if local.id == (lead_id or ids[0]))
    materials, merged, renamed = _merge_materials([(local.code, version.materials) for local, version, _ in originals])
    fields, shared = _merge_fields([v.form_schema.get("fields", []) for _, v, _ in originals], renamed)
    form = {"schema": "xietong.form/1", "fields": fields}
    process = _joint_process(session, name.strip(), [(local, body) for local, _, body in originals], layout)
    promised = any(v.kind == "promised" for _, v, _ in originals)
    total = max if layout == "parallel" else sum  # side by side, the longest original sets the limit
    plan = MergePlan(
        code=code, name=name.strip(), region_id=lead.region_id, handling_unit_id=lead.handling_unit_id,
        originals=[(local.id, local.code) for local, _, _ in originals], kind="promised" if promised else "immediate",
        legal_limit_days=total(v.legal_limit_days for _, v, _ in originals),
        promised_limit_days=total(v.promised_limit_days for _, v, _ in originals),
        form_schema=form, materials=materials, merged_materials=merged, shared_fields=shared, process=process,
        layout=layout,
    )
    problems = [FieldProblem(p.field, f"合并后的表单或材料：{p.message}", p.code)
                for p in content_problems(form, materials)]
    try:
        compile_process(process)
    except ProcessDefinitionError as exc:
        problems += [FieldProblem(f"process.{p.field}", f"合并后的流程：{p.message}", p.code) for p in exc.errors]
    try:
        plan.local_code = catalog.next_local_matter_code(
            session, base_code=code, region_id=plan.region_id, handling_unit_id=plan.handling_unit_id)
    except InvalidInput as exc:
        problems += exc.errors
    if problems:
        raise InvalidInput(code="merge_invalid", detail=f"合并方案有 {len(problems)} 处问题", errors=problems)
    return plan


def _normal(name: str) -> str:
    return re.sub(r"\s+", "", name)


def _merge_materials(
    lists: list[tuple[str, list[dict[str, Any]]]],
) -> tuple[list[dict[str, Any]], list[MergedMaterial], dict[tuple[int, str], str]]:
    """The joint list (by code, then by name), what each kept material stands for, and per original
    (index, old code) → kept code for the materials that changed code."""
    kept: list[dict[str, Any]] = []
    merged: list[MergedMaterial] = []
    by_code: dict[str, int] = {}
    by_name: dict[str, int] = {}
    renamed: dict[tuple[int, str], str] = {}
    for index, (matter_code, materials) in enumerate(lists):
        for material in materials:
            at = by_code.get(material["code"], by_name.get(_normal(material["name"])))
            if at is None:
                by_code[material["code"]] = by_name[_normal(material["name"])] = len(kept)
                kept.append(dict(material))
                merged.append(MergedMaterial(material["code"], material["name"], [(matter_code, material["code"])]))
                continue
            target = kept[at]
            # The same material asked by two matters: required if either requires it, any format either accepts.
            target["required"] = bool(target.get("required")) or bool(material.get("required"))
            target["formats"] = list(dict.fromkeys([*target.get("formats", []), *material.get("formats", [])]))
            target["max_size_mb"] = max(target.get("max_size_mb", 20), material.get("max_size_mb", 20))
            merged[at].sources.append((matter_code, material["code"]))
            if material["code"] != target["code"]:
                renamed[(index, material["code"])] = target["code"]
    return kept, merged, renamed


def _merge_fields(
    forms: list[list[dict[str, Any]]], renamed: dict[tuple[int, str], str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The fields in order, each key once (a later form's field with a taken key is the same field)."""
    fields: list[dict[str, Any]] = []
    seen: set[str] = set()
    shared: list[str] = []
    for index, form in enumerate(forms):
        for f in form:
            if f["key"] in seen:
                if f["key"] not in shared:
                    shared.append(f["key"])
                continue
            f = dict(f)
            if f.get("type") == "file" and (index, f.get("material")) in renamed:
                f["material"] = renamed[(index, f["material"])]
            seen.add(f["key"])
            fields.append(f)
    return fields, shared


def _joint_process(session: Session, name: str, originals: list[tuple[LocalMatter, dict[str, Any]]],
                   layout: Layout) -> dict[str, Any]:
    """One process of the originals' steps, node ids prefixed ``m{n}_``: ``sequential`` start → the first
    original's steps → the next's → … → end; ``parallel`` start → split → each original's steps → join → end."""
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "start", "x": 40, "y": 120}]
    flows: list[dict[str, Any]] = []
    parallel = layout == "parallel"
    if parallel:
        nodes.append({"id": "split", "type": "parallel", "name": "并联办理", "x": 120, "y": 120})
        flows.append({"id": "f_start", "from": "start", "to": "split"})
    pending: list[dict[str, Any]] = [] if parallel else [{"id": "f_start", "from": "start", "to": ""}]
    branches: list[dict[str, Any]] = []  # parallel: every original's flows that ended, now into the join
    for n, (local, body) in enumerate(originals, start=1):
        segment = _segment(session, local, body, f"m{n}_", n)
        if segment is None:
            continue  # an original without steps adds nothing
        entry, seg_nodes, seg_flows, ends = segment
        nodes += seg_nodes
        if parallel:
            flows.append({"id": f"f_split_m{n}", "from": "split", "to": entry})
            branches += ends
        else:
            for flow in pending:
                flow["to"] = entry
            flows.extend(pending)
            pending = ends
        flows += seg_flows
    if parallel:
        nodes.append({"id": "join", "type": "parallel", "name": "并联汇合", "x": 820, "y": 120})
        for flow in branches:
            flow["to"] = "join"
        flows += branches
        pending = [{"id": "f_join", "from": "join", "to": ""}]
    nodes.append({"id": "end", "type": "end", "x": 900, "y": 120})
    for flow in pending:
        flow["to"] = "end"
    flows.extend(pending)
    return {"schema": "xietong.process/1", "name": name, "nodes": nodes, "flows": flows, "extensions": {}}


def _segment(session: Session, local: LocalMatter, body: dict[str, Any], prefix: str, n: int
             ) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]] | None:
    """One original's steps renamed with ``prefix`` and pinned to its handling unit: (entry node id, nodes,
    inner flows, the flows that reached its end — their ``to`` is the caller's to fill); None without steps."""
    unit_code = session.scalar(select(Unit.code).where(Unit.id == local.handling_unit_id))
    if unit_code is None:
        raise Conflict(code="unit_not_found", detail=f"事项 {local.code} 的办理单位不存在")
    ends = {node["id"] for node in body["nodes"] if node["type"] == "end"}
    starts = {node["id"] for node in body["nodes"] if node["type"] == "start"}
    entry = next(f["to"] for f in body["flows"] if f["from"] in starts)
    if entry in ends:
        return None
    nodes = []
    for node in body["nodes"]:
        if node["id"] in ends or node["id"] in starts:
            continue
        copy = _pinned({**node, "id": prefix + node["id"]}, unit_code)
        if "y" in copy and copy["y"] is not None:
            copy["y"] = copy["y"] + 240 * (n - 1)
        nodes.append(copy)
    inner, ended = [], []
    for flow in body["flows"]:
        if flow["from"] in starts:
            continue
        copy = {**flow, "id": prefix + flow["id"], "from": prefix + flow["from"]}
        if flow.get("condition"):
            copy["condition"] = _renamed_steps(flow["condition"], prefix)
        if flow["to"] in ends:
            ended.append(copy)
        else:
            copy["to"] = prefix + flow["to"]
            inner.append(copy)
    return prefix + entry, nodes, inner, ended


def _renamed_steps(condition: str, prefix: str) -> str:
    condition = _STEPS_DOT.sub(lambda m: f"steps.{prefix}{m[1]}", condition)
    return _STEPS_INDEX.sub(lambda m: f"steps[{m[1]}{prefix}{m[2]}{m[1]}]", condition)


def _pinned(node: dict[str, Any], unit_code: str) -> dict[str, Any]:
    """The node with ``handling_unit`` references replaced by the original handling unit (by its code)."""
    assign = node.get("assign")
    if not assign:
        return node
    fixed = {"ref": "unit", "code": unit_code}
    assign = dict(assign)
    if isinstance(assign.get("unit"), dict) and assign["unit"].get("ref") == "handling_unit":
        assign["unit"] = fixed
    if isinstance(assign.get("units"), list):
        assign["units"] = [fixed if u.get("ref") == "handling_unit" else u for u in assign["units"]]
    return {**node, "assign": assign}


def merge_matters(
    session: Session, *, local_matter_ids: Sequence[int], code: str, name: str, reason: str, by_id: int | None,
    lead_id: int | None = None, publish: bool = False, layout: Layout = "sequential",
) -> MergeResult:
    """Merge local matters into one joint matter (一件事); with ``publish`` it is published at once and the
    originals retire (otherwise when its draft is published)."""
    _require_reason(reason)
    plan = plan_merge(session, local_matter_ids=local_matter_ids, code=code, name=name, lead_id=lead_id,
                      layout=layout)
    lead = session.get(LocalMatter, lead_id or plan.originals[0][0])
    assert lead is not None
    lead_base = session.get(BaseMatter, lead.base_matter_id)
    base = catalog.create_base_matter(
        session, code=plan.code, name=plan.name, kind=plan.kind, legal_limit_days=plan.legal_limit_days,
        function=lead_base.function if lead_base else None,
    )
    local = catalog.create_local_matter(session, base=base, region_id=plan.region_id,
                                        handling_unit_id=plan.handling_unit_id, code=plan.local_code)
    version = catalog.draft_version(
        session, local=local, form_schema=plan.form_schema, materials=plan.materials, process=plan.process,
        promised_limit_days=plan.promised_limit_days, kind=plan.kind, legal_limit_days=plan.legal_limit_days,
    )
    operation = uuid.uuid4().hex
    keys = [local.lineage_key]
    for original_id, _ in plan.originals:
        original = session.get(LocalMatter, original_id, with_for_update=True)
        assert original is not None
        keys.append(original.lineage_key)
        record_lineage(session, operation=operation, kind="merge", predecessor=original, successor=local,
                       reason=reason, by_id=by_id)
    join_lineage(session, keys=keys, into=local.code)
    session.flush()
    if publish:
        catalog.publish_version(session, version_id=version.id)
    return MergeResult(operation=operation, plan=plan, base_id=base.id, local_id=local.id, version_id=version.id)
