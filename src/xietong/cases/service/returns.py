"""退回: a task's holder sends the case back to an earlier step it passed, or to the applicant.

The returning task ends as ``returned`` with the reason as its opinion (the guarded UPDATE that picks
the single winner of concurrent clicks, as for a decision); the engine cancels exactly the tasks and
scopes the return leaves (``engine/returns.py``) and opens the target step afresh. A return to the
applicant pauses the clock like 补正 and records where the resubmitted case goes: ``direct`` — straight
back to the returning person, the other open tasks waiting meanwhile — or ``chain`` — through the whole
process again, every open task cancelled.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from xietong.cases.enums import CaseStatus
from xietong.cases.events import Actor
from xietong.cases.models import SupplementRequest
from xietong.cases.service.clock import pause_values
from xietong.cases.service.common import Operation, require, require_status
from xietong.cases.service.tasks import (
    MAX_OPINION,
    lock_task,
    refuse_if_delegated,
    step_working_days,
    task_facts,
    task_row_of,
)
from xietong.catalog import situations
from xietong.db import fastpath
from xietong.db.base import utcnow
from xietong.engine import returns as engine_returns
from xietong.engine.models import Task
from xietong.engine.state import TaskRow
from xietong.errors import Conflict, InvalidInput
from xietong.security.principal import Principal
from xietong.system.calendar import fingerprint_of, work_calendar

TASK = Task.__table__
REQUEST = SupplementRequest.__table__
APPLICANT = "applicant"
RESUME_MODES = ("direct", "chain")
_PASSED_NODES = (
    select(TASK.c.node_id, TASK.c.name)
    .where(TASK.c.case_id == bindparam("b_case_id"), TASK.c.state == "completed")
    .group_by(TASK.c.node_id, TASK.c.name)
)
_END_TASK = (
    update(TASK)
    .where(TASK.c.id == bindparam("b_id"), TASK.c.state == "open")
    .values(
        state=bindparam("b_state"),
        outcome=bindparam("b_outcome"),
        opinion=bindparam("b_opinion"),
        completed_by_id=bindparam("b_by"),
        completed_at=bindparam("b_now"),
        working_days=bindparam("b_days"),
    )
)


def end_task(session: Session, row: Any, *, state: str, outcome: str | None, by: int | None, opinion: str,
             now: datetime, tz: str) -> dict[str, Any]:
    """Close the locked open task as ``state`` (returned, transferred) — 409 for the loser of a race; the delta."""
    calendar = work_calendar(session.connection(), tz, fingerprint_of(row))
    days = step_working_days(calendar, row["task_created_at"], now)
    params = {"b_id": row["task_id"], "b_state": state, "b_outcome": outcome, "b_opinion": opinion or None,
              "b_by": by, "b_now": now, "b_days": days}
    if fastpath.execute(session.connection(), _END_TASK, params).rowcount != 1:
        raise Conflict(code="task_closed", detail="该待办已经被他人办理，请刷新后查看")
    return {"id": row["task_id"], "state": state, "outcome": outcome, "by": by, "opinion": opinion or None,
            "working_days": days}


def return_targets(session: Session, *, principal: Principal, task_id: int) -> dict[str, Any]:
    """What the return dialog offers: each earlier step the case passed, and the open tasks a return cancels."""
    row = lock_task(session, task_id, principal)
    require(session, principal, "return", row, task_facts(row))
    refuse_if_delegated(row)
    op = Operation(session, row, Actor(principal.kind, principal.id), utcnow(), "Asia/Shanghai")
    run = op.new_run()
    task = task_row_of(row)
    targets = []
    skipped = _skipped(row)
    for node_id, name in _passed(session, row["id"], exclude=row["task_node_id"]):
        if node_id in skipped:  # done once, then the answers changed at 补正: the case no longer goes there
            continue
        cancels = engine_returns.preview_return(run, task, node_id)
        targets.append({"node": node_id, "name": name, "cancels": _briefs(cancels, but=task_id)})
    everything = engine_returns.open_tasks_below(run, engine_returns.process_scope(run))
    return {"targets": targets, "applicant": {"cancels": _briefs(everything, but=task_id)}}


def return_task(
    session: Session,
    *,
    principal: Principal,
    task_id: int,
    target: str,
    reason: str,
    resume_mode: str = "chain",
    now: datetime | None = None,
    tz: str = "Asia/Shanghai",
) -> list[int]:
    """退回 from ``task_id`` to step ``target`` or to ``"applicant"``; returns the ids of the new tasks."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput(code="reason_required", detail="请填写退回理由")
    if len(reason) > MAX_OPINION:
        raise InvalidInput(code="reason_too_long", detail=f"退回理由不能超过 {MAX_OPINION} 个字")
    if target == APPLICANT and resume_mode not in RESUME_MODES:
        raise InvalidInput(code="bad_resume_mode", detail="重新提交后的去向只能是直接回到本环节或重新走完整流程")
    now = now or utcnow()
    row = lock_task(session, task_id, principal)
    require(session, principal, "return", row, task_facts(row))
    require_status("complete_task", row)
    if target != APPLICANT and target in _skipped(row):
        raise Conflict(code="return_target_skipped", detail="该环节按本办件的办理情形无需办理，不能退回到该环节")
    if target != APPLICANT and target not in {n for n, _ in _passed(session, row["id"], exclude=row["task_node_id"])}:
        raise Conflict(code="bad_return_target", detail="只能退回到本办件已经办理过的环节")
    actor = Actor(principal.kind, principal.id, row["task_acting_for_id"])
    op = Operation(session, row, actor, now, tz)
    ended = end_task(
        session, row, state="returned", outcome="return", by=principal.id, opinion=reason, now=now, tz=tz
    )
    run = op.new_run()
    delta: dict[str, Any] = {"task_ended": ended, "returned": {"from": row["task_node_id"], "to": target}}
    if target != APPLICANT:
        engine_returns.return_to(run, task_row_of(row), target)
        op.finish("case.returned", case_values={"status": CaseStatus.IN_PROGRESS.value}, delta=delta)
        return [t.id for t in run.new_tasks if t.id is not None]
    if resume_mode == "chain":  # the process runs again from its start: nothing open stays valid
        engine_returns.cancel_all(run)
    session.connection().execute(
        insert(REQUEST),
        {
            "case_id": row["id"], "kind": "return", "items": [], "reason": reason, "resume_mode": resume_mode,
            "resume_node": row["task_node_id"], "resume_task_id": task_id, "requested_by_id": principal.id,
            "requested_at": now,
        },
    )
    values = {**pause_values(row, CaseStatus.SUPPLEMENTING, now), "paused_from": CaseStatus.IN_PROGRESS.value,
              "reason": reason}
    delta["returned"]["resume_mode"] = resume_mode
    op.finish("case.returned_to_applicant", case_values=values, delta=delta)
    return []


def _skipped(row: Any) -> set[str]:
    """The steps the case's 办理情形 answers skip (the form's ``_situation``; the engine passes them by)."""
    kept = (row["form"] or {}).get(situations.FORM_KEY)
    return set(kept.get("skipped", ())) if isinstance(kept, dict) else set()


def _passed(session: Session, case_id: int, *, exclude: str) -> list[tuple[str, str]]:
    rows = session.execute(_PASSED_NODES, {"b_case_id": case_id}).all()
    seen: dict[str, str] = {}
    for node_id, name in rows:
        if node_id != exclude:
            seen.setdefault(node_id, name)
    return sorted(seen.items())


def _briefs(tasks: list[TaskRow], *, but: int) -> list[dict[str, Any]]:
    """The other open tasks a return would cancel, as the dialog lists them."""
    return [
        {"task_id": t.id, "node": t.node_id, "name": t.name, "unit_id": t.slot.unit_id, "assignee_id": t.slot.person_id}
        for t in tasks
        if t.id != but
    ]
