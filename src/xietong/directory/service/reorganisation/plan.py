"""The dry run of a reorganisation: the units are resolved and checked, then every thing that would move is
listed with where it goes — or why it cannot. Nothing is guessed: in a split, a post, person, matter, sub-unit
or open case the mapping does not place is refused, and the reorganisation does not run until the plan holds.

A reorganisation whose directory part already ran (its lineage exists) plans again as what is left: the open
cases not yet moved. ``execute`` recomputes the plan in its own transaction, so what moves is what is true then.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from xietong.cases.enums import OPEN_STATUSES
from xietong.cases.models import ApplicationDraft, Case, Event
from xietong.catalog.models import LocalMatter
from xietong.directory.models import Membership, Person, Post, Unit, UnitLineage
from xietong.directory.service.reorganisation.spec import Kind, ReorganisationIn, Successor
from xietong.engine.models import Task
from xietong.errors import Forbidden, InvalidInput
from xietong.security.models import RoleGrant
from xietong.security.permissions import may_administer
from xietong.security.principal import Principal

MOVES, REFUSED, KEPT = "moves", "refused", "kept"
STATE_LABELS = {MOVES: "将办理", REFUSED: "不能办理", KEPT: "保留，须安全管理员处理"}
ITEM_LABELS = {"unit": "单位", "post": "岗位", "membership": "任职", "matter": "事项", "child": "下级单位",
               "grant": "角色授权", "draft": "草稿", "case": "办件"}
OPEN = tuple(s.value for s in OPEN_STATUSES)
REORGANISED = "case.reorganised"


@dataclass(frozen=True)
class PlanItem:
    """One thing the reorganisation touches: what happens to it, and whether it can."""

    kind: str  # a key of ITEM_LABELS
    id: int | None
    label: str
    action: str
    state: str = MOVES  # moves | refused | kept (left as it is, for someone else to act on)
    reason: str | None = None
    target: str | None = None  # the successor's code
    case_id: int | None = None


@dataclass
class Resolved:
    """The spec with its units found: predecessors, successors by code (None: to be created), and — when the
    directory part already ran — that run's lineage key."""

    spec: ReorganisationIn
    predecessors: list[Unit]
    targets: dict[str, Unit | None]
    key: str | None = None
    done_at: datetime | None = None
    names: dict[str, str] = field(default_factory=dict)  # successor code → name

    @property
    def ids(self) -> list[int]:
        return [u.id for u in self.predecessors]


@dataclass(frozen=True)
class Plan:
    kind: Kind
    items: list[PlanItem]
    done_at: datetime | None = None  # the directory part ran then; only cases are left

    @property
    def refused(self) -> list[PlanItem]:
        return [i for i in self.items if i.state == REFUSED]


def plan(session: Session, *, principal: Principal, spec: ReorganisationIn) -> Plan:
    """What ``execute`` would do now, item by item (a dry run: nothing is written)."""
    resolved = resolve(session, principal=principal, spec=spec)
    return Plan(spec.kind, plan_items(session, resolved), resolved.done_at)


def resolve(session: Session, *, principal: Principal, spec: ReorganisationIn) -> Resolved:
    """Find and check the units; structural mistakes are refused at once (a 422 with a Chinese detail)."""
    codes = spec.units
    if len(set(codes)) != len(codes):
        raise InvalidInput(code="reorganisation_duplicate_units", detail="改革前的单位有重复")
    units = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(codes)))}
    missing = [c for c in codes if c not in units]
    if missing:
        raise InvalidInput(code="unit_not_found", detail=f"单位不存在：{'、'.join(missing)}")
    predecessors = [units[c] for c in codes]
    _check_shape(spec)
    targets = _targets(session, spec, predecessors)
    resolved = Resolved(spec, predecessors, targets)
    resolved.names = {code: (unit.name if unit else successor_spec(spec, code).name or code)
                      for code, unit in targets.items()}
    _find_done(session, resolved)
    if resolved.key is None:
        for unit in predecessors:
            if not unit.active:
                raise InvalidInput(code="unit_inactive", detail=f"单位“{unit.name}”已停用，不能再改革")
    _check_access(session, principal, resolved)
    return resolved


def _check_shape(spec: ReorganisationIn) -> None:
    if spec.kind is Kind.RENAME:
        if len(spec.units) != 1 or not spec.name:
            raise InvalidInput(code="reorganisation_bad_rename", detail="更名须指定一个单位和它的新名称")
    elif spec.kind is Kind.MERGE:
        if spec.successor is None:
            raise InvalidInput(code="reorganisation_no_successor", detail="合并须指定接续单位")
    else:
        if len(spec.units) != 1 or len(spec.successors) < 2:
            raise InvalidInput(code="reorganisation_bad_split", detail="拆分须指定一个单位和至少两个接续单位")
        codes = [s.code for s in spec.successors]
        if len(set(codes)) != len(codes):
            raise InvalidInput(code="reorganisation_duplicate_successors", detail="接续单位有重复")


def _successors(spec: ReorganisationIn) -> list[str]:
    if spec.kind is Kind.RENAME:
        return [spec.units[0]]
    if spec.kind is Kind.MERGE:
        assert spec.successor is not None
        return [spec.successor.code]
    return [s.code for s in spec.successors]


def successor_spec(spec: ReorganisationIn, code: str) -> Successor:
    """The spec's successor with this code."""
    return next(s for s in [spec.successor, *spec.successors] if s is not None and s.code == code)


def _targets(session: Session, spec: ReorganisationIn, predecessors: list[Unit]) -> dict[str, Unit | None]:
    codes = _successors(spec)
    if spec.kind is Kind.RENAME:
        return {codes[0]: predecessors[0]}
    found = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(codes)))}
    regions = {u.region_id for u in predecessors}
    if len(regions) != 1:
        raise InvalidInput(code="reorganisation_across_regions", detail="不同行政区划的单位不能一起改革")
    targets: dict[str, Unit | None] = {}
    for code in codes:
        unit = found.get(code)
        if unit is None:
            if not successor_spec(spec, code).name:
                raise InvalidInput(code="reorganisation_new_unit_unnamed", detail=f"新单位 {code} 须有名称")
            _check_new_parent(session, successor_spec(spec, code).parent_code, predecessors, regions)
        elif not unit.active and not _reorganised_into(session, unit, predecessors):
            raise InvalidInput(code="reorganisation_successor_retired",
                               detail=f"接续单位“{unit.name}”已撤销，不能再接收人员、事项和办件")
        elif unit.id in {p.id for p in predecessors}:
            raise InvalidInput(code="reorganisation_successor_is_predecessor",
                               detail=f"接续单位“{unit.name}”不能同时是被改革的单位")
        elif any(unit.path.startswith(p.path) for p in predecessors):
            raise InvalidInput(code="reorganisation_successor_below",
                               detail=f"接续单位“{unit.name}”是被改革单位的下级单位")
        elif unit.region_id not in regions:
            raise InvalidInput(code="reorganisation_across_regions",
                               detail=f"接续单位“{unit.name}”属于另一个行政区划")
        targets[code] = unit
    return targets


def _reorganised_into(session: Session, unit: Unit, predecessors: list[Unit]) -> bool:
    """The same reorganisation run again may name its own successors, whatever became of them since: its plan
    then only finishes what is left. Any other retired unit receives nothing."""
    return session.scalar(select(UnitLineage.id).where(
        UnitLineage.successor_id == unit.id, UnitLineage.predecessor_id.in_([p.id for p in predecessors])
    ).limit(1)) is not None


def _check_new_parent(session: Session, parent_code: str | None, predecessors: list[Unit], regions: set[int]) -> None:
    """A new successor's parent (by default the first predecessor's): an active unit of the same region, neither
    a predecessor nor below one. Whether the principal administers it is checked with the rest."""
    if parent_code is None:
        return
    parent = session.scalar(select(Unit).where(Unit.code == parent_code))
    if parent is None or not parent.active:
        raise InvalidInput(code="reorganisation_parent_unknown",
                           detail=f"新单位的上级单位 {parent_code} 不存在或已撤销")
    if parent.region_id not in regions:
        raise InvalidInput(code="reorganisation_across_regions", detail=f"上级单位“{parent.name}”属于另一个行政区划")
    if any(parent.path.startswith(p.path) for p in predecessors):
        raise InvalidInput(code="reorganisation_parent_below",
                           detail=f"上级单位“{parent.name}”是被改革的单位或其下级单位")


def _find_done(session: Session, resolved: Resolved) -> None:
    """A reorganisation already carried out (the same spec run again) is recognised by its lineage."""
    spec = resolved.spec
    rows = session.scalars(
        select(UnitLineage).where(UnitLineage.predecessor_id.in_(resolved.ids), UnitLineage.kind == spec.kind.value)
        .order_by(UnitLineage.id.desc())
    ).all()
    if not rows:
        return
    key = rows[0].reorganisation
    edges = [r for r in rows if r.reorganisation == key]
    by_code = {u.id: u.code for u in session.scalars(select(Unit).where(
        Unit.id.in_([e.successor_id for e in edges])))}
    if {e.predecessor_id for e in edges} != set(resolved.ids) or {by_code[e.successor_id] for e in edges} != set(
            resolved.targets):
        return
    if spec.kind is Kind.RENAME and edges[0].successor_name != spec.name:
        return
    for code in resolved.targets:
        if resolved.targets[code] is None:
            resolved.targets[code] = session.scalar(select(Unit).where(Unit.code == code))
    resolved.key, resolved.done_at = key, edges[0].at


def _check_access(session: Session, principal: Principal, resolved: Resolved) -> None:
    parents = [successor_spec(resolved.spec, code).parent_code for code, unit in resolved.targets.items()
               if unit is None]
    new_parents = list(session.scalars(select(Unit).where(Unit.code.in_([c for c in parents if c]))))
    units = [*resolved.predecessors, *(u for u in resolved.targets.values() if u is not None), *new_parents]
    for unit in units:
        if not may_administer(principal, "directory", region_id=unit.region_id, unit_path=unit.path):
            raise Forbidden(code="not_directory_admin", detail=f"您无权改革单位“{unit.name}”")


# -- the items --------------------------------------------------------------------------------------------


def plan_items(session: Session, resolved: Resolved) -> list[PlanItem]:
    """Every item, directory first (unless that part already ran), then the open cases."""
    items: list[PlanItem] = []
    if resolved.key is None:
        items += _units(resolved)
        if resolved.spec.kind is not Kind.RENAME:
            items += _posts(session, resolved) + _memberships(session, resolved) + _matters(session, resolved)
            items += _children(session, resolved) + _grants(session, resolved) + _drafts(session, resolved)
    items += case_items(session, resolved)
    return items


def _units(resolved: Resolved) -> list[PlanItem]:
    spec = resolved.spec
    if spec.kind is Kind.RENAME:
        unit = resolved.predecessors[0]
        if spec.name == unit.name:
            return [PlanItem("unit", unit.id, unit.name, "更名", REFUSED, "新名称与原名称相同")]
        return [PlanItem("unit", unit.id, unit.name, f"更名为“{spec.name}”（单位编号不变，原名称留存）",
                         target=unit.code)]
    items = [PlanItem("unit", None, resolved.names[code], "新建单位", target=code)
             for code, unit in resolved.targets.items() if unit is None]
    into = "、".join(f"“{resolved.names[c]}”" for c in resolved.targets)
    verb = "并入" if spec.kind is Kind.MERGE else "拆分为"
    items += [PlanItem("unit", u.id, u.name, f"{verb}{into}后停用（保留历史）") for u in resolved.predecessors]
    return items


def _place(resolved: Resolved, table: dict[str, str], key: str, what: str) -> tuple[str | None, str | None]:
    """Where one thing goes: the merge's one successor, or the split's mapping (the target, or why not)."""
    if resolved.spec.kind is Kind.MERGE:
        return next(iter(resolved.targets)), None
    target = table.get(key)
    if target is None:
        return None, f"拆分方案未指定{what}划入哪个单位"
    if target not in resolved.targets:
        return None, f"{what}划入的单位 {target} 不是本次拆分的接续单位"
    return target, None


def _item(kind: str, id_: int | None, label: str, verb: str, resolved: Resolved, target: str | None,
          reason: str | None, case_id: int | None = None) -> PlanItem:
    if target is None:
        return PlanItem(kind, id_, label, verb, REFUSED, reason, case_id=case_id)
    return PlanItem(kind, id_, label, f"{verb}“{resolved.names[target]}”", target=target, case_id=case_id)


def _posts(session: Session, resolved: Resolved) -> list[PlanItem]:
    posts = session.scalars(select(Post).where(Post.unit_id.in_(resolved.ids)).order_by(Post.unit_id, Post.id))
    items = []
    for post in posts:
        target, reason = _place(resolved, resolved.spec.mapping.posts, post.code, f"岗位“{post.name}”（{post.code}）")
        items.append(_item("post", post.id, post.name, "划入", resolved, target, reason))
    return items


def _memberships(session: Session, resolved: Resolved) -> list[PlanItem]:
    rows = session.execute(
        select(Membership.id, Person.username, Person.name, Post.name.label("post"))
        .join(Person, Person.id == Membership.person_id).outerjoin(Post, Post.id == Membership.post_id)
        .where(Membership.unit_id.in_(resolved.ids)).order_by(Membership.id)
    ).all()
    items = []
    for r in rows:
        label = f"{r.name}（{r.post}）" if r.post else r.name
        target, reason = _place(resolved, resolved.spec.mapping.people, r.username, f"{r.name}（{r.username}）")
        items.append(_item("membership", r.id, label, "任职转入", resolved, target, reason))
    return items


def _matters(session: Session, resolved: Resolved) -> list[PlanItem]:
    matters = session.scalars(select(LocalMatter).where(LocalMatter.handling_unit_id.in_(resolved.ids))
                              .order_by(LocalMatter.id)).all()
    taken = {(m.base_matter_id, m.handling_unit_id) for m in session.scalars(select(LocalMatter).where(
        LocalMatter.handling_unit_id.in_([u.id for u in resolved.targets.values() if u is not None])))}
    units = {code: unit.id if unit else None for code, unit in resolved.targets.items()}
    items, coming = [], set()
    for m in matters:
        target, reason = _place(resolved, resolved.spec.mapping.matters, m.code, f"事项“{m.name}”（{m.code}）")
        key = (m.base_matter_id, target)
        if target is not None and ((m.base_matter_id, units[target]) in taken or key in coming):
            target, reason = None, f"“{resolved.names[target]}”已有同一基本目录的实施清单，请先废止其一"
        coming.add(key)
        item = _item("matter", m.id, f"{m.name}（{m.code}）", "承办单位改为", resolved, target, reason)
        items.append(item if target is None else replace(item, action=item.action + "，编码不变"))
    return items


def _children(session: Session, resolved: Resolved) -> list[PlanItem]:
    children = session.scalars(select(Unit).where(Unit.parent_id.in_(resolved.ids), Unit.active.is_(True))
                               .order_by(Unit.sort, Unit.code))
    items = []
    for child in children:
        target, reason = _place(resolved, resolved.spec.mapping.units, child.code, f"下级单位“{child.name}”")
        items.append(_item("child", child.id, child.name, "改隶", resolved, target, reason))
    return items


def _grants(session: Session, resolved: Resolved) -> list[PlanItem]:
    """Role grants scoped to a predecessor are listed, never moved: role grants are the security administrator's
    alone (三员分立), and re-pointing one to a larger successor would silently widen what its holder sees. On the
    retired unit a grant covers only the history that stays there."""
    rows = session.execute(
        select(RoleGrant.id, RoleGrant.role, Person.name)
        .join(Person, Person.id == RoleGrant.person_id)
        .where(RoleGrant.scope_kind == "unit_subtree", RoleGrant.scope_unit_id.in_(resolved.ids))
        .order_by(RoleGrant.id)
    ).all()
    return [PlanItem("grant", r.id, f"{r.name}：{r.role}", "授权范围仍为原单位，须由安全管理员重新授权", KEPT)
            for r in rows]


def _drafts(session: Session, resolved: Resolved) -> list[PlanItem]:
    """Saved application drafts (the wizard's ``application_draft`` rows) of a predecessor applicant unit."""
    rows = session.execute(
        select(ApplicationDraft.id, LocalMatter.name, Person.username, Person.name.label("person"))
        .join(Person, Person.id == ApplicationDraft.person_id)
        .join(LocalMatter, LocalMatter.id == ApplicationDraft.local_matter_id)
        .where(ApplicationDraft.applicant_unit_id.in_(resolved.ids)).order_by(ApplicationDraft.id)
    ).all()
    items = []
    for r in rows:
        target, reason = _place(resolved, resolved.spec.mapping.people, r.username, f"草稿申请人{r.person}")
        items.append(_item("draft", r.id, f"草稿：{r.name}", "申请单位改为", resolved, target, reason))
    return items


# -- the open cases -----------------------------------------------------------------------------------------


def open_cases(session: Session, unit_ids: list[int]) -> list[int]:
    """Open cases the units handle, applied for, or hold an open step of — in ascending id (the lock order)."""
    holding = select(Task.case_id).where(Task.unit_id.in_(unit_ids), Task.state == "open")
    return list(session.scalars(
        select(Case.id).where(Case.status.in_(OPEN), or_(Case.handling_unit_id.in_(unit_ids),
                                                          Case.applicant_unit_id.in_(unit_ids), Case.id.in_(holding)))
        .order_by(Case.id)))


def pending(session: Session, resolved: Resolved) -> list[int]:
    """The open cases still to move (for a rename: those without this rename's event yet)."""
    ids = open_cases(session, resolved.ids)
    if resolved.spec.kind is not Kind.RENAME or resolved.key is None or not ids:
        return ids
    done = {case_id for case_id, delta in session.execute(
        select(Event.case_id, Event.delta).where(Event.case_id.in_(ids), Event.type == REORGANISED))
        if delta.get("reorganisation", {}).get("key") == resolved.key}
    return [i for i in ids if i not in done]


def case_target(session: Session, resolved: Resolved, case_id: int, number: str) -> tuple[str | None, str | None]:
    """The successor (by code) an open case goes to, or why the plan cannot tell."""
    if resolved.spec.kind is not Kind.SPLIT:
        return next(iter(resolved.targets)), None
    target = resolved.spec.mapping.cases.get(number)
    if target is None:
        return None, "拆分方案未指定该办件划入哪个单位"
    if target not in resolved.targets:
        return None, f"办件划入的单位 {target} 不是本次拆分的接续单位"
    return target, None


def case_items(session: Session, resolved: Resolved) -> list[PlanItem]:
    """One item per open case still to move (for a rename: still without this rename's event)."""
    ids = pending(session, resolved)
    if not ids:
        return []
    rows = session.execute(select(Case.id, Case.number, Case.title).where(Case.id.in_(ids)).order_by(Case.id)).all()
    verb = "记录单位更名" if resolved.spec.kind is Kind.RENAME else "转由"
    items = []
    for r in rows:
        target, reason = case_target(session, resolved, r.id, r.number)
        label = f"{r.number} {r.title}"
        if target is None:
            items.append(PlanItem("case", r.id, label, verb, REFUSED, reason, case_id=r.id))
            continue
        state, blocker = _blocker(session, resolved, r.id, target) or (MOVES, None)
        action = verb if resolved.spec.kind is Kind.RENAME else f"{verb}“{resolved.names[target]}”办理，待办随之转移"
        items.append(PlanItem("case", r.id, label, action, state, blocker, target, r.id))
    return items


def _blocker(session: Session, resolved: Resolved, case_id: int, target: str) -> tuple[str, str] | None:
    """Why an open case cannot move as planned: refused (the mapping sends a step's holder elsewhere, or a step of
    no post has a holder who already left) — or a note on how it moves."""
    if resolved.spec.kind is Kind.RENAME or resolved.key is not None:
        return None
    tasks = session.execute(
        select(Task.id, Task.name, Task.post_id, Task.assignee_id, Task.delegate_id, Person.username,
               Person.name.label("person"))
        .outerjoin(Person, Person.id == Task.assignee_id)
        .where(Task.case_id == case_id, Task.state == "open", Task.unit_id.in_(resolved.ids))
    ).all()
    for t in tasks:
        if t.assignee_id is None:
            continue
        member = session.scalar(select(Membership.id).where(Membership.person_id == t.assignee_id,
                                                            Membership.unit_id.in_(resolved.ids)).limit(1))
        if member is None and t.post_id is None:
            return REFUSED, f"待办“{t.name}”的办理人{t.person}已不在原单位，请先办理人员交接"
        goes, _ = _place(resolved, resolved.spec.mapping.people, t.username, "")
        if member is not None and goes != target:
            return REFUSED, f"待办“{t.name}”的办理人{t.person}不随办件划入“{resolved.names[target]}”"
    return None
