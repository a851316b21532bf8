"""转办 and 加签/减签: hand one's task to a colleague, and change the signers of a running countersign.

A transfer ends the task as ``transferred`` (the guarded UPDATE: of two clicks one wins) and opens the
same step for the colleague, keeping its due time. Signer changes go through ``engine/signers.py``,
which recomputes the step's completion rule; the scope's signer list and expected count are written
here and travel in the event's ``signers`` section so a replay rebuilds them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from xietong.cases.enums import CaseStatus
from xietong.cases.events import Actor
from xietong.cases.service.common import Operation, require, require_status
from xietong.cases.service.returns import end_task
from xietong.cases.service.tasks import MAX_OPINION, lock_task, refuse_if_delegated, task_facts, task_row_of
from xietong.db.base import utcnow
from xietong.directory.models import Membership, Person
from xietong.engine import signers
from xietong.engine.models import Scope, Task
from xietong.engine.state import Run, ScopeRow, Slot
from xietong.errors import Conflict, InvalidInput, NotFound
from xietong.security.permissions import holds_task
from xietong.security.principal import Principal

TASK = Task.__table__
SCOPE = Scope.__table__
MEMBERSHIP = Membership.__table__
PERSON = Person.__table__
MAX_NEW_SIGNERS = 20
_TASK_DUE = select(TASK.c.due_at).where(TASK.c.id == bindparam("b_id"))
_MEMBERSHIPS = (
    select(PERSON.c.id, PERSON.c.name, PERSON.c.active, MEMBERSHIP.c.unit_id)
    .join(MEMBERSHIP, MEMBERSHIP.c.person_id == PERSON.c.id)
    .where(PERSON.c.id.in_(bindparam("b_ids", expanding=True)))
    .order_by(PERSON.c.id, MEMBERSHIP.c.id)
)
_SIGNED = select(TASK.c.id).where(
    TASK.c.scope_id == bindparam("b_scope"),
    (TASK.c.assignee_id == bindparam("b_me")) | (TASK.c.completed_by_id == bindparam("b_me")),
).limit(1)
_RESIZE = (
    update(SCOPE)
    .where(SCOPE.c.id == bindparam("b_id"))
    .values(expected=bindparam("b_expected"), data=bindparam("b_data", type_=SCOPE.c.data.type))
)


def transfer_task(
    session: Session,
    *,
    principal: Principal,
    task_id: int,
    to_person_id: int,
    note: str = "",
    now: datetime | None = None,
    tz: str = "Asia/Shanghai",
) -> int:
    """转办: give one's open task to a colleague of the task's unit; returns the new task's id."""
    if len(note) > MAX_OPINION:
        raise InvalidInput(code="opinion_too_long", detail=f"转办说明不能超过 {MAX_OPINION} 个字")
    now = now or utcnow()
    row = lock_task(session, task_id, principal)
    require(session, principal, "transfer", row, task_facts(row))
    refuse_if_delegated(row)
    require_status("complete_task", row)
    if to_person_id == principal.id:
        raise InvalidInput(code="transfer_to_self", detail="不能转办给本人")
    actor = Actor(principal.kind, principal.id, row["task_acting_for_id"])
    return move_task(session, row, to_person_id, actor=actor, note=note, now=now, tz=tz)


def move_task(
    session: Session, row: Any, to_person_id: int | None, *, actor: Actor, note: str, now: datetime, tz: str,
    event: str = "task.transferred", to_unit: tuple[int, int | None] | None = None,
) -> int:
    """End the locked task ``row`` as ``transferred`` and open the same step, with the same due time, for a
    person of the task's unit; returns the new task's id. The caller has checked who may do it.

    ``to_unit`` (unit id, post id) moves the step to another unit's post instead (机构改革): the person, if
    any, must belong to that unit; without a person the new task is shared by the post's holders again."""
    unit_id, post_id = to_unit if to_unit is not None else (row["task_unit_id"], row["task_post_id"])
    if to_person_id is not None:
        [slot] = _slots(session, [to_person_id], prefer_unit=unit_id)
        if slot.unit_id != unit_id:
            raise Conflict(code="transfer_outside_unit", detail="只能转办给本单位的人员")
    due = session.execute(_TASK_DUE, {"b_id": row["task_id"]}).scalar_one()
    op = Operation(session, row, actor, now, tz)
    ended = end_task(session, row, state="transferred", outcome=None, by=actor.id, opinion=note, now=now, tz=tz)
    run = op.new_run()
    scope = run.scope_by_id(row["task_scope_id"])
    task = run.open_task(row["task_node_id"], scope, Slot(unit_id, post_id, to_person_id), seq=row["task_seq"])
    task.due_at = due
    moved = {"to": to_person_id} if to_unit is None else {"to": to_person_id, "unit_id": unit_id, "post_id": post_id}
    op.finish(event, delta={"task_ended": ended, "transferred": moved})
    assert task.id is not None
    return task.id


def add_signers(
    session: Session,
    *,
    principal: Principal,
    task_id: int,
    person_ids: list[int],
    position: str = "parallel",
    now: datetime | None = None,
    tz: str = "Asia/Shanghai",
) -> list[int]:
    """加签 on the countersign step of ``task_id``; returns the tasks opened at once (none when they sign later)."""
    if not person_ids or len(person_ids) > MAX_NEW_SIGNERS:
        raise InvalidInput(code="bad_signers", detail=f"请选择 1 至 {MAX_NEW_SIGNERS} 名加签人员")
    op, run, multi, row = _open_multi(session, principal, task_id, now, tz)
    slots = _slots(session, list(dict.fromkeys(person_ids)), prefer_unit=row["task_unit_id"])
    acting = task_row_of(row) if holds_task(principal, task_facts(row)) else None
    if acting is not None:
        acting.scope = multi
    signers.add_signers(run, multi, slots, position=position, acting=acting)
    _finish(session, op, multi, "task.signers_added", {"added": person_ids, "position": position})
    return [t.id for t in run.new_tasks if t.id is not None]


def remove_signer(
    session: Session,
    *,
    principal: Principal,
    task_id: int,
    person_id: int,
    now: datetime | None = None,
    tz: str = "Asia/Shanghai",
) -> list[int]:
    """减签: remove a signer who has not signed yet; returns the tasks the step's completion opened, if any."""
    op, run, multi, _row = _open_multi(session, principal, task_id, now, tz)
    signers.remove_signer(run, multi, person_id)
    _finish(session, op, multi, "task.signer_removed", {"removed": person_id})
    return [t.id for t in run.new_tasks if t.id is not None]


def _open_multi(
    session: Session, principal: Principal, task_id: int, now: datetime | None, tz: str
) -> tuple[Operation, Run, ScopeRow, Any]:
    row = lock_task(session, task_id, principal)
    if row["scope_kind"] != "multi":
        raise Conflict(code="not_countersign", detail="只有会签或或签环节可以加签、减签")
    if not _is_signer(session, principal, row["task_scope_id"]):  # a signer of the step owns it too
        require(session, principal, "change_signers", row, task_facts(row))
    require_status("complete_task", row)
    op = Operation(session, row, Actor(principal.kind, principal.id), now or utcnow(), tz)
    run = op.new_run()
    return op, run, run.scope_by_id(row["task_scope_id"]), row


def _is_signer(session: Session, principal: Principal, multi_id: int) -> bool:
    """Whether ``principal`` holds or has signed a task of this countersign step."""
    if principal.id is None:
        return False
    found = session.execute(_SIGNED, {"b_scope": multi_id, "b_me": principal.id}).first()
    return found is not None


def _finish(session: Session, op: Operation, multi: ScopeRow, event: str, change: dict[str, Any]) -> None:
    session.connection().execute(_RESIZE, {"b_id": multi.id, "b_expected": multi.expected, "b_data": multi.data})
    op.finish(
        event,
        case_values={"status": CaseStatus.IN_PROGRESS.value},
        delta={"signers": {"scope": multi.id, "expected": multi.expected, "data": multi.data, **change}},
    )


def _slots(session: Session, person_ids: list[int], *, prefer_unit: int) -> list[Slot]:
    """One slot per active person: in ``prefer_unit`` when they belong to it, else their first unit."""
    units: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    inactive = set()
    for pid, name, active, unit_id in session.execute(_MEMBERSHIPS, {"b_ids": person_ids}):
        units.setdefault(pid, []).append(unit_id)
        names[pid] = name
        if not active:
            inactive.add(pid)
    missing = [p for p in person_ids if p not in units]
    if missing:
        raise NotFound(code="person_not_found", detail=f"人员不存在或不属于任何单位（编号 {missing[0]}）")
    if inactive:
        raise Conflict(code="person_inactive", detail=f"{names[min(inactive)]}已停用，不能办理")
    return [
        Slot(unit_id=prefer_unit if prefer_unit in units[p] else units[p][0], person_id=p) for p in person_ids
    ]
