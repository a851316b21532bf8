"""Moving running cases of a local matter from a faulty version to another (版本迁移), and back.

A case can move when everything the engine holds for it exists in the target's process in the same place:
each active scope's node (a parallel split, a countersign step) and each open task's node with the same type,
the same block path (the parallel branches around it) and the same multi-instance setting. The dry run
(``plan_migration``) says per case where each open task would land, or what cannot be mapped; the migration
(``migrate_cases``) moves each mappable case in a transaction of its own with a ``case.version_migrated``
event and leaves the rest untouched and listed. ``revert_migration`` moves the cases a migration moved back
to the version they came from, the same way. The case keeps its due time; only the steps still to come follow
the new version.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.cases.enums import OPEN_STATUSES
from xietong.cases.events import Actor
from xietong.cases.models import Case, Event
from xietong.cases.service.common import Operation, lock_case, process_of
from xietong.catalog.models import LocalMatter, MatterVersion, ProcessDefinition
from xietong.db.base import utcnow
from xietong.engine.definition import CompiledProcess
from xietong.engine.models import Scope, Task
from xietong.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from xietong.security.permissions import may_administer
from xietong.security.principal import Principal

Transaction = Callable[[], AbstractContextManager[Session]]
MIGRATED = "case.version_migrated"


@dataclass(frozen=True)
class CasePlan:
    """One case in a dry run: where its open tasks land in the target version, or why it cannot move."""

    case_id: int
    number: str
    lands: list[str] = field(default_factory=list)  # "受理审查 → 受理审查" per open task
    problems: list[str] = field(default_factory=list)

    @property
    def mappable(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class CaseOutcome:
    case_id: int
    number: str
    migrated: bool
    problems: list[str] = field(default_factory=list)


def plan_migration(
    session: Session, *, principal: Principal, local_matter_id: int, from_version_id: int, to_version_id: int
) -> list[CasePlan]:
    """The dry run: every open case on ``from_version_id``, mappable or not, with the reasons."""
    source, target = _versions(session, principal, local_matter_id, from_version_id, to_version_id)
    cases = session.execute(
        select(Case.id, Case.number).where(Case.matter_version_id == from_version_id,
                                           Case.status.in_([s.value for s in OPEN_STATUSES])).order_by(Case.id)
    ).all()
    return [_plan(session, case_id, number, source, target) for case_id, number in cases]


def migrate_cases(
    transaction: Transaction, *, principal: Principal, local_matter_id: int, from_version_id: int,
    to_version_id: int, reason: str, case_ids: list[int] | None = None, tz: str = "Asia/Shanghai",
) -> list[CaseOutcome]:
    """Move every mappable open case (or those of ``case_ids``), each in its own transaction; one outcome each."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput(code="reason_required", detail="请填写迁移原因")
    with transaction() as session:
        plans = plan_migration(session, principal=principal, local_matter_id=local_matter_id,
                               from_version_id=from_version_id, to_version_id=to_version_id)
    if case_ids is not None:
        wanted = set(case_ids)
        plans = [p for p in plans if p.case_id in wanted]
    outcomes = []
    for plan in plans:
        if not plan.mappable:
            outcomes.append(CaseOutcome(plan.case_id, plan.number, False, plan.problems))
            continue
        try:
            with transaction() as session:
                _migrate_one(session, principal, plan.case_id, from_version_id, to_version_id, reason, tz)
        except DomainError as refused:  # changed since the dry run: left as it is
            outcomes.append(CaseOutcome(plan.case_id, plan.number, False, [refused.detail]))
        else:
            outcomes.append(CaseOutcome(plan.case_id, plan.number, True))
    return outcomes


def revert_migration(
    transaction: Transaction, *, principal: Principal, local_matter_id: int, from_version_id: int,
    to_version_id: int, reason: str, tz: str = "Asia/Shanghai",
) -> list[CaseOutcome]:
    """Move back to ``from_version_id`` the open cases a migration moved from it to ``to_version_id``."""
    with transaction() as session:
        moved = _migrated_cases(session, from_version_id, to_version_id)
    if not moved:
        return []
    return migrate_cases(transaction, principal=principal, local_matter_id=local_matter_id,
                         from_version_id=to_version_id, to_version_id=from_version_id, reason=reason,
                         case_ids=moved, tz=tz)


def _migrated_cases(session: Session, from_version_id: int, to_version_id: int) -> list[int]:
    """Cases on ``to_version_id`` whose latest migration brought them there from ``from_version_id``."""
    rows = session.execute(
        select(Event.case_id, Event.delta).join(Case, Case.id == Event.case_id)
        .where(Event.type == MIGRATED, Case.matter_version_id == to_version_id).order_by(Event.case_id, Event.seq)
    ).all()
    latest = {case_id: delta["migration"] for case_id, delta in rows}
    return sorted(c for c, m in latest.items() if m["from"] == from_version_id and m["to"] == to_version_id)


def _migrate_one(
    session: Session, principal: Principal, case_id: int, from_version_id: int, to_version_id: int, reason: str,
    tz: str,
) -> None:
    row = lock_case(session, case_id)
    if row["matter_version_id"] != from_version_id:
        raise Conflict(code="version_changed", detail="该办件已不在原版本上")
    source, target = _process(session, from_version_id), _process(session, to_version_id)
    plan = _plan(session, case_id, row["number"], source, target)
    if not plan.mappable:
        raise Conflict(code="not_mappable", detail="；".join(plan.problems))
    Operation(session, row, Actor(principal.kind, principal.id), utcnow(), tz).finish(
        MIGRATED, case_values={"matter_version_id": to_version_id},
        delta={"migration": {"from": from_version_id, "to": to_version_id, "reason": reason[:500],
                             "lands": plan.lands}},
    )


def _plan(session: Session, case_id: int, number: str, source: CompiledProcess, target: CompiledProcess) -> CasePlan:
    problems, lands = [], []
    scopes = session.execute(select(Scope.kind, Scope.node_id).where(Scope.case_id == case_id,
                                                                     Scope.state == "active")).all()
    for kind, node_id in scopes:
        if kind == "process":
            continue
        if node_id not in target.nodes or _shape(target, node_id) != _shape(source, node_id):
            problems.append(f"进行中的{_scope_label(kind)}“{_name(source, node_id)}”在新版本中没有相同结构的对应节点")
    for name, node_id in session.execute(select(Task.name, Task.node_id).where(Task.case_id == case_id,
                                                                              Task.state == "open")).all():
        if node_id not in target.nodes or _shape(target, node_id) != _shape(source, node_id):
            problems.append(f"待办“{name}”（{node_id}）在新版本中没有相同位置、相同类型的环节")
        else:
            lands.append(f"{name} → {target.nodes[node_id].name}")
    return CasePlan(case_id, number, sorted(set(lands)), problems)


def _shape(process: CompiledProcess, node_id: str) -> tuple[object, ...] | None:
    node = process.nodes.get(node_id)
    if node is None:
        return None
    multi = (node.multi.mode, node.multi.order, node.multi.ratio) if node.multi is not None else None
    return node.type, node.path, multi


def _name(process: CompiledProcess, node_id: str) -> str:
    node = process.nodes.get(node_id)
    return node.name if node is not None and node.name else node_id


def _scope_label(kind: str) -> str:
    return {"parallel": "并行分支", "branch": "分支", "multi": "会签"}.get(kind, "环节")


def _versions(
    session: Session, principal: Principal, local_matter_id: int, from_version_id: int, to_version_id: int
) -> tuple[CompiledProcess, CompiledProcess]:
    matter = session.get(LocalMatter, local_matter_id)
    if matter is None:
        raise NotFound(code="matter_not_found", detail="事项不存在")
    if not may_administer(principal, "catalog", region_id=matter.region_id):
        raise Forbidden(code="not_allowed", detail="您无权迁移该事项的办件")
    if from_version_id == to_version_id:
        raise InvalidInput(code="same_version", detail="原版本与目标版本相同")
    versions = {v.id: v for v in session.scalars(select(MatterVersion).where(
        MatterVersion.id.in_([from_version_id, to_version_id]), MatterVersion.local_matter_id == local_matter_id))}
    if set(versions) != {from_version_id, to_version_id}:
        raise NotFound(code="version_not_found", detail="版本不存在或不属于该事项")
    if versions[to_version_id].status == "draft":
        raise Conflict(code="version_not_published", detail="只能迁移到已发布（或已停用的原）版本")
    return _process(session, from_version_id), _process(session, to_version_id)


def _process(session: Session, version_id: int) -> CompiledProcess:
    """The compiled process of a version, from the cache the case operations use (keyed by content digest)."""
    digest = session.scalar(
        select(ProcessDefinition.digest)
        .join(MatterVersion, MatterVersion.process_definition_id == ProcessDefinition.id)
        .where(MatterVersion.id == version_id)
    )
    if digest is None:
        raise NotFound(code="version_not_found", detail="版本不存在")
    return process_of(session.connection(), {"digest": digest})
