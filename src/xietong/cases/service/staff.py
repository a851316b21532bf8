"""人员交接: when a person leaves, moves to another unit or goes on long leave, an administrator hands all of
their open work to a successor in one operation — after a preview of exactly what will move.

What moves: the open tasks assigned to the person (each ended as transferred and opened for the successor,
an event on its case as 转办 does, done by the administrator), the supervision orders they issued and that
are still open (the successor must be able to supervise the case), the delegations in which they are the
deputy (委托: someone's new tasks go to them while that person is away), and their draft applications.
An item the successor cannot take — a task of a unit they do not belong to, an order over a case they may
not supervise — is left where it is and listed with the reason; the rest moves. The plan is computed again
inside the operation's own transaction, so what moves is what is true when it commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from xietong.cases.enums import CaseStatus
from xietong.cases.events import Actor
from xietong.cases.models import Case
from xietong.cases.service.common import Operation, facts, lock_case
from xietong.cases.service.handover import move_task
from xietong.cases.service.tasks import lock_task
from xietong.db.base import utcnow
from xietong.directory.models import Delegation, Membership, Person, Unit
from xietong.engine.models import Task
from xietong.errors import Forbidden, InvalidInput, NotFound
from xietong.oversight.models import OversightOrder
from xietong.security.permissions import can, may_administer
from xietong.security.principal import Principal, load_principal

#: Statuses in which an open task can change hands (the process runs, or waits on a pause).
MOVABLE = frozenset({CaseStatus.ACCEPTED, CaseStatus.IN_PROGRESS, CaseStatus.SUPPLEMENTING, CaseStatus.SUSPENDED,
                     CaseStatus.SPECIAL_PROCEDURE})


@dataclass(frozen=True)
class HandoverItem:
    """One piece of the person's work: what it is, and whether it moves (with the new task) or why not."""

    kind: str  # task | order | delegation | draft
    id: int
    case_id: int | None
    label: str
    moves: bool
    reason: str | None = None
    new_id: int | None = None


def handover_plan(
    session: Session, *, principal: Principal, from_person_id: int, to_person_id: int, now: datetime | None = None
) -> list[HandoverItem]:
    """What handing ``from_person_id``'s open work to ``to_person_id`` would move, and what it would leave."""
    now = now or utcnow()
    successor = _check(session, principal, from_person_id, to_person_id)
    units = set(session.scalars(select(Membership.unit_id).where(Membership.person_id == to_person_id)))
    items = [*_tasks(session, from_person_id, units), *_orders(session, from_person_id, successor),
             *_delegations(session, from_person_id, to_person_id, now),
             *_drafts(session, from_person_id, units)]
    return items


def hand_over(
    session: Session, *, principal: Principal, from_person_id: int, to_person_id: int, note: str = "",
    now: datetime | None = None, tz: str = "Asia/Shanghai",
) -> list[HandoverItem]:
    """Move everything the plan says moves, in the caller's one transaction; returns the per-item log."""
    now = now or utcnow()
    plan = handover_plan(session, principal=principal, from_person_id=from_person_id, to_person_id=to_person_id,
                         now=now)
    actor = Actor(principal.kind, principal.id)
    note = note.strip()[:200] or "人员交接"
    done = []
    for item in plan:
        if not item.moves:
            done.append(item)
            continue
        new_id = None
        if item.kind == "task":
            row = lock_task(session, item.id)
            new_id = move_task(session, row, to_person_id, actor=actor, note=note, now=now, tz=tz,
                               event="task.handed_over")
        elif item.kind == "order":
            row = lock_case(session, item.case_id or 0)
            session.execute(update(OversightOrder).where(OversightOrder.id == item.id)
                            .values(issued_by_id=to_person_id))
            Operation(session, row, actor, now, tz).finish("oversight.order_handed_over", delta={
                "oversight": {"order_id": item.id, "from": from_person_id, "to": to_person_id, "note": note}})
        elif item.kind == "delegation":
            session.execute(update(Delegation).where(Delegation.id == item.id).values(to_person_id=to_person_id))
        else:  # a draft has no event chain yet: its applicant simply changes
            session.execute(update(Case).where(Case.id == item.id).values(applicant_person_id=to_person_id))
        done.append(HandoverItem(item.kind, item.id, item.case_id, item.label, True, None, new_id))
    return done


def _check(session: Session, principal: Principal, from_person_id: int, to_person_id: int) -> Principal:
    """The administrator covers the person's units; both people exist, the successor is active and another."""
    if from_person_id == to_person_id:
        raise InvalidInput(code="handover_to_self", detail="交接人与接手人不能是同一人")
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_([from_person_id, to_person_id])))}
    if from_person_id not in people or to_person_id not in people:
        raise NotFound(code="person_not_found", detail="交接人或接手人不存在")
    if not people[to_person_id].active:
        raise InvalidInput(code="successor_inactive", detail="接手人账号已停用")
    # Where the person works: their units, or — for someone outside every unit, such as a supervisor — the
    # regions of their role grants; nobody's work is handed over by an administrator who covers less.
    targets: list[tuple[int | None, str | None]] = [
        (region_id, path) for region_id, path in session.execute(
            select(Unit.region_id, Unit.path).join(Membership, Membership.unit_id == Unit.id)
            .where(Membership.person_id == from_person_id)
        )
    ]
    if not targets:
        leaving = load_principal(session, from_person_id)
        targets = [(g.region_id, g.unit_path) for g in leaving.grants] or [(None, None)]
    if not all(may_administer(principal, "directory", region_id=r, unit_path=p) for r, p in targets):
        raise Forbidden(code="not_allowed", detail="您无权办理该人员的工作交接")
    return load_principal(session, to_person_id)


def _tasks(session: Session, person_id: int, successor_units: set[int]) -> list[HandoverItem]:
    rows = session.execute(
        select(Task.id, Task.case_id, Task.name, Task.unit_id, Case.number, Case.status, Unit.name.label("unit"))
        .join(Case, Case.id == Task.case_id).join(Unit, Unit.id == Task.unit_id)
        .where(Task.assignee_id == person_id, Task.state == "open").order_by(Task.id)
    ).all()
    items = []
    for r in rows:
        label = f"{r.number} {r.name}"
        if CaseStatus(r.status) not in MOVABLE:
            items.append(HandoverItem("task", r.id, r.case_id, label, False, "办件当前状态不能转交"))
        elif r.unit_id not in successor_units:
            items.append(HandoverItem("task", r.id, r.case_id, label, False, f"接手人不是{r.unit}的人员"))
        else:
            items.append(HandoverItem("task", r.id, r.case_id, label, True))
    return items


def _orders(session: Session, person_id: int, successor: Principal) -> list[HandoverItem]:
    rows = session.execute(
        select(OversightOrder.id.label("order_id"), OversightOrder.kind, Case.id, Case.number, Case.region_id,
               Case.handling_unit_id, Case.applicant_unit_id, Case.applicant_person_id, Case.party_units,
               Unit.path.label("handling_unit_path"))
        .join(Case, Case.id == OversightOrder.case_id).join(Unit, Unit.id == Case.handling_unit_id)
        .where(OversightOrder.issued_by_id == person_id, OversightOrder.state != "closed").order_by(OversightOrder.id)
    ).mappings().all()
    items = []
    for r in rows:
        label = f"{r['number']} {'督办' if r['kind'] == 'supervision' else '整改'}单"
        if can(successor, "close_order", facts(r)):
            items.append(HandoverItem("order", r["order_id"], r["id"], label, True))
        else:
            items.append(HandoverItem("order", r["order_id"], r["id"], label, False, "接手人没有该办件的督办权限"))
    return items


def _delegations(session: Session, person_id: int, successor_id: int, now: datetime) -> list[HandoverItem]:
    rows = session.execute(
        select(Delegation.id, Delegation.from_person_id, Delegation.ends_at, Person.name)
        .join(Person, Person.id == Delegation.from_person_id)
        .where(Delegation.to_person_id == person_id, Delegation.ends_at > now).order_by(Delegation.id)
    ).all()
    items = []
    for r in rows:
        label = f"{r.name}的委托（至 {r.ends_at:%Y-%m-%d}）"
        if r.from_person_id == successor_id:
            items.append(HandoverItem("delegation", r.id, None, label, False, "接手人就是委托人本人"))
        else:
            items.append(HandoverItem("delegation", r.id, None, label, True))
    return items


def _drafts(session: Session, person_id: int, successor_units: set[int]) -> list[HandoverItem]:
    rows = session.execute(
        select(Case.id, Case.title, Case.applicant_unit_id)
        .where(Case.applicant_person_id == person_id, Case.status == CaseStatus.DRAFT.value).order_by(Case.id)
    ).all()
    return [
        HandoverItem("draft", r.id, r.id, f"草稿：{r.title}", r.applicant_unit_id in successor_units,
                     None if r.applicant_unit_id in successor_units else "接手人不属于申请单位")
        for r in rows
    ]
