"""Task operations: 签收 (claim a shared task) and deciding a task (approve / deny with an opinion).

Deciding is the hot path: one locking SELECT (case, task, scope), the guarded UPDATE whose row
count picks the single winner of concurrent clicks, then a constant number of writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from xietong.cases.enums import CaseStatus
from xietong.cases.events import Actor
from xietong.cases.service.common import (
    CASE,
    OPERATION_COLUMNS,
    Operation,
    locked_case_query,
    readable,
    require,
    require_status,
)
from xietong.clock.calendar import WorkCalendar
from xietong.clock.due import working_days_used
from xietong.db import fastpath
from xietong.db.base import utcnow
from xietong.engine.models import Scope, Task
from xietong.engine.state import ScopeRow, Slot, TaskRow
from xietong.engine.transitions import complete_task as engine_complete
from xietong.errors import Conflict, Forbidden, InvalidInput, NotFound
from xietong.security.permissions import TaskFacts
from xietong.security.principal import Principal

TASK = Task.__table__
SCOPE = Scope.__table__
MAX_OPINION = 2000

_LOCK_TASK = (
    locked_case_query(OPERATION_COLUMNS)
    .add_columns(
        TASK.c.id.label("task_id"),
        TASK.c.state.label("task_state"),
        TASK.c.unit_id.label("task_unit_id"),
        TASK.c.post_id.label("task_post_id"),
        TASK.c.assignee_id.label("task_assignee_id"),
        TASK.c.acting_for_id.label("task_acting_for_id"),
        TASK.c.node_id.label("task_node_id"),
        TASK.c.scope_id.label("task_scope_id"),
        TASK.c.seq.label("task_seq"),
        TASK.c.name.label("task_name"),
        TASK.c.created_at.label("task_created_at"),
        TASK.c.delegate_id.label("task_delegate_id"),
        SCOPE.c.kind.label("scope_kind"),
        SCOPE.c.node_id.label("scope_node_id"),
        SCOPE.c.generation.label("scope_generation"),
    )
    .join(TASK, TASK.c.case_id == CASE.c.id)
    .join(SCOPE, SCOPE.c.id == TASK.c.scope_id)
    .where(TASK.c.id == bindparam("b_task_id"))
)
_CLAIM = (
    update(TASK)
    .where(TASK.c.id == bindparam("b_task_id"), TASK.c.state == "open", TASK.c.assignee_id.is_(None))
    .values(assignee_id=bindparam("b_person_id"), claimed_at=bindparam("b_now"))
)


def _lock_task(session: Session, task_id: int, principal: Principal | None = None) -> Mapping[str, Any]:
    """The open task with its case locked. Given the acting ``principal``, a task of a case they may not read
    is missing to them — before any state or holder check, so task ids cannot be probed."""
    row = fastpath.execute(session.connection(), _LOCK_TASK, {"b_task_id": task_id}).first()
    if row is None or (principal is not None and not readable(session, principal, row)):
        raise NotFound(code="task_not_found", detail=f"待办不存在（编号 {task_id}）")
    if row["task_state"] != "open":
        raise Conflict(code="task_closed", detail="该待办已经办理或已取消，请刷新后查看")
    return row


def refuse_if_delegated(row: Mapping[str, Any]) -> None:
    """While 委派 lends the task to a colleague, its holder neither decides nor passes it on."""
    if row["task_delegate_id"] is not None:
        raise Conflict(code="task_delegated", detail="该待办已委派给同事办理，请待其交回（或收回委派）后再办理")


def _task_facts(row: Mapping[str, Any]) -> TaskFacts:
    return TaskFacts(unit_id=row["task_unit_id"], post_id=row["task_post_id"], assignee_id=row["task_assignee_id"])


def complete_task(
    session: Session,
    *,
    principal: Principal,
    task_id: int,
    approved: bool,
    opinion: str = "",
    now: datetime | None = None,
    tz: str = "Asia/Shanghai",
) -> list[int]:
    """Decide a task; a shared task is claimed by deciding it, in the same transaction. Returns new task ids."""
    if len(opinion) > MAX_OPINION:
        raise InvalidInput(code="opinion_too_long", detail=f"审批意见不能超过 {MAX_OPINION} 个字")
    now = now or utcnow()
    row = _lock_task(session, task_id, principal)
    require(session, principal, "complete", row, _task_facts(row))
    refuse_if_delegated(row)
    target = require_status("complete_task", row)
    actor = Actor(principal.kind, principal.id, row["task_acting_for_id"])
    op = Operation(session, row, actor, now, tz)
    days = step_working_days(op.calendar, row["task_created_at"], now)
    # Only a person goes into task.completed_by_id; a client's or the system's decision names them in the event.
    by = principal.id if principal.kind == "person" else None
    decision = {"by": by, "approved": approved, "opinion": opinion or None, "now": now, "days": days}
    scopes = None
    if row["scope_kind"] == "process":  # the common case: no need to load the scope tree
        done = op.store.complete_task(task_id, **decision)
    else:
        done, scopes = op.store.complete_task_with_scopes(task_id, row["id"], **decision)
    if not done:
        raise Conflict(code="task_closed", detail="该待办已经被他人办理，请刷新后查看")
    run = op.new_run()
    if scopes is not None:
        run.preload_scopes(scopes)
    engine_complete(run, _task_row(row), approved=approved)
    values = {"status": target.value} if target is not None and row["status"] != target.value else {}
    op.finish(
        "task.completed",
        case_values=values,
        delta={
            "task_completed": {
                "id": task_id,
                "outcome": "approve" if approved else "deny",
                "by": by,
                "opinion": opinion,
                "acting_for": row["task_acting_for_id"],
                "node": row["task_node_id"],
                "working_days": days,
            }
        },
    )
    return [t.id for t in run.new_tasks if t.id is not None]


def step_working_days(calendar: WorkCalendar, opened_at: datetime, now: datetime) -> int:
    """Working days a step took: after the day it opened through the day it closed (the clock's counting)."""
    return working_days_used(opened_at, max(now, opened_at), calendar)


def _task_row(row: Mapping[str, Any]) -> TaskRow:
    scope = None
    if row["scope_kind"] == "process":  # the common case: no need to load the scope tree
        scope = ScopeRow(
            case_id=row["id"],
            kind="process",
            node_id=row["scope_node_id"],
            generation=row["scope_generation"],
            id=row["task_scope_id"],
        )
    return TaskRow(
        case_id=row["id"],
        scope=scope,
        scope_id=row["task_scope_id"],
        node_id=row["task_node_id"],
        name=row["task_name"],
        seq=row["task_seq"],
        created_at=row["task_created_at"],
        id=row["task_id"],
        slot=Slot(
            unit_id=row["task_unit_id"],
            post_id=row["task_post_id"],
            person_id=row["task_assignee_id"],
            acting_for_id=row["task_acting_for_id"],
        ),
    )


def claim_task(
    session: Session, *, principal: Principal, task_id: int, now: datetime | None = None, tz: str = "Asia/Shanghai"
) -> None:
    """签收: take a shared task of one's post; of two people claiming at once exactly one wins."""
    now = now or utcnow()
    row = _lock_task(session, task_id, principal)
    if row["task_assignee_id"] is not None:
        raise Conflict(code="task_claimed", detail="该待办已被签收")
    require(session, principal, "claim", row, _task_facts(row))
    if CaseStatus(row["status"]) not in (CaseStatus.ACCEPTED, CaseStatus.IN_PROGRESS):
        raise Conflict(code="wrong_case_status", detail="办件当前状态不能签收待办")
    result = fastpath.execute(
        session.connection(), _CLAIM, {"b_task_id": task_id, "b_person_id": principal.id, "b_now": now}
    )
    if result.rowcount != 1:
        raise Conflict(code="task_claimed", detail="该待办已被他人签收")
    Operation(session, row, Actor(principal.kind, principal.id), now, tz).finish(
        "task.claimed", delta={"task_claimed": {"id": task_id, "by": principal.id}}
    )


_RELEASE = (
    update(TASK)
    .where(
        TASK.c.id == bindparam("b_task_id"),
        TASK.c.state == "open",
        TASK.c.assignee_id == bindparam("b_person_id"),
        TASK.c.claimed_at.is_not(None),
        TASK.c.post_id.is_not(None),
    )
    .values(assignee_id=None, claimed_at=None)
)


def release_task(
    session: Session, *, principal: Principal, task_id: int, now: datetime | None = None, tz: str = "Asia/Shanghai"
) -> None:
    """退回签收: give a claimed shared task back to its post, where every holder sees it again."""
    now = now or utcnow()
    row = _lock_task(session, task_id, principal)
    if row["task_assignee_id"] != principal.id:
        raise Forbidden(code="not_your_task", detail="只有签收人可以退回签收")
    refuse_if_delegated(row)
    if CaseStatus(row["status"]) not in (CaseStatus.ACCEPTED, CaseStatus.IN_PROGRESS):
        raise Conflict(code="wrong_case_status", detail="办件当前状态不能退回签收")
    released = fastpath.execute(session.connection(), _RELEASE, {"b_task_id": task_id, "b_person_id": principal.id})
    if released.rowcount != 1:
        raise Conflict(code="not_claimed", detail="该待办是直接分派给您的，不是签收的岗位待办，不能退回签收")
    Operation(session, row, Actor(principal.kind, principal.id), now, tz).finish(
        "task.released", delta={"task_released": {"id": task_id, "by": principal.id}}
    )


# The other task operations (return, transfer, signers) lock and read a task the same way.
lock_task = _lock_task
task_facts = _task_facts
task_row_of = _task_row
