"""撤回 a decision: a handler takes back their decision while the next step has not acted.

"Has not acted" is checked strictly: the decision's event is the case's latest event that moved the
process (later events may only be notes such as cards or urges), and every task it opened is still open
and unclaimed. The state before the decision then comes from the independent reducer (the event log up
to the one before it), so the undo is exact: the tasks it opened are cancelled, the scopes it opened are
cancelled, the scopes it changed get their earlier counters back, the tasks it cancelled (co-signers of
an 或签) and the decider's own task open again, and the step results are those from before.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from xietong.cases.enums import CaseStatus
from xietong.cases.events import Actor
from xietong.cases.replay import ScopeState, load_events, reduce_events
from xietong.cases.service.common import Operation, lock_case, readable, require_status
from xietong.db.base import utcnow
from xietong.engine.models import Task
from xietong.engine.state import ScopeRow, Slot, TaskRow
from xietong.errors import Conflict, Forbidden, NotFound
from xietong.security.principal import Principal

TASK = Task.__table__
# Sections that move the process; an event carrying none of them (a card, an urge, a copy) does not count
# as the next step having acted.
ENGINE_SECTIONS = frozenset(
    {"scopes_opened", "scopes_changed", "tasks_opened", "tasks_closed", "task_completed", "task_claimed",
     "task_ended", "signers", "task_withdrawn"}
)
_TASK = select(TASK).where(TASK.c.id == bindparam("b_id"))
_MARK_WITHDRAWN = (
    update(TASK).where(TASK.c.id == bindparam("b_id"), TASK.c.state == "completed").values(state="withdrawn")
)


def withdraw_decision(
    session: Session, *, principal: Principal, task_id: int, now: datetime | None = None, tz: str = "Asia/Shanghai"
) -> int:
    """Take back one's decision on ``task_id``; returns the id of the task opened again for it."""
    now = now or utcnow()
    found = session.execute(_TASK, {"b_id": task_id}).mappings().first()
    if found is None:
        raise NotFound(code="task_not_found", detail=f"待办不存在（编号 {task_id}）")
    row = lock_case(session, found["case_id"])
    if not readable(session, principal, row):  # missing to whoever may not read the case
        raise NotFound(code="task_not_found", detail=f"待办不存在（编号 {task_id}）")
    task = session.execute(_TASK, {"b_id": task_id}).mappings().one()  # re-read under the case lock
    if task["state"] != "completed" or task["completed_by_id"] != principal.id:
        raise Forbidden(code="not_your_decision", detail="只能撤回本人作出的审批决定")
    require_status("complete_task", row)
    events = load_events(session, row["id"])
    decision = _decision_event(events, task_id)
    _require_untouched(session, events, decision)
    before = reduce_events(events[: decision.seq - 1])
    op = Operation(session, row, Actor(principal.kind, principal.id, task["acting_for_id"]), now, tz)
    run = op.new_run()
    delta = decision.delta
    for opened in delta.get("tasks_opened", ()):
        run.close_task(_stub(row["id"], opened["id"]), "cancelled")
    for opened in delta.get("scopes_opened", ()):
        if opened["state"] == "active":
            run.changed_scopes.append(_scope(row["id"], opened["id"], state="cancelled", values=opened))
    for changed in delta.get("scopes_changed", ()):
        run.changed_scopes.append(_restored(row["id"], before.scopes[changed["id"]]))
    reopened = run.open_task(task["node_id"], _scope_ref(row["id"], task["scope_id"]), _slot(task, principal),
                             seq=task["seq"])
    for closed in delta.get("tasks_closed", ()):
        if closed["state"] == "cancelled":
            was = before.tasks[closed["id"]]
            slot = Slot(was.unit_id, was.post_id, was.assignee_id, was.acting_for_id)
            run.open_task(was.node_id, _scope_ref(row["id"], was.scope_id), slot, seq=_seq(session, was.id))
    run.case.step_results = dict(before.fields["step_results"] or {})
    run.case.process_state = before.fields["process_state"]
    session.execute(_MARK_WITHDRAWN, {"b_id": task_id})
    op.finish(
        "task.decision_withdrawn",
        case_values={"status": CaseStatus.IN_PROGRESS.value},
        delta={"task_withdrawn": {"id": task_id, "event": decision.seq}},
    )
    assert reopened.id is not None
    return reopened.id


def _decision_event(events: list[Any], task_id: int) -> Any:
    for event in reversed(events):
        done = event.delta.get("task_completed")
        if done is not None and done["id"] == task_id:
            return event
    raise Conflict(code="decision_not_found", detail="找不到该审批决定的记录，不能撤回")


def _require_untouched(session: Session, events: list[Any], decision: Any) -> None:
    later = [e for e in events if e.seq > decision.seq]
    if any(ENGINE_SECTIONS & set(e.delta) for e in later):
        raise Conflict(code="next_step_acted", detail="后续环节已经办理，不能撤回")
    opened = [t["id"] for t in decision.delta.get("tasks_opened", ())]
    if opened:
        rows = session.execute(select(TASK.c.state, TASK.c.claimed_at).where(TASK.c.id.in_(opened))).all()
        if len(rows) != len(opened) or any(state != "open" or claimed for state, claimed in rows):
            raise Conflict(code="next_step_acted", detail="后续环节已经签收或办理，不能撤回")


def _stub(case_id: int, task_id: int) -> TaskRow:
    return TaskRow(case_id=case_id, scope=None, node_id="", name="", slot=Slot(0), created_at=utcnow(), id=task_id)


def _scope_ref(case_id: int, scope_id: int) -> ScopeRow:
    return ScopeRow(case_id=case_id, kind="", node_id="", generation=0, id=scope_id)


def _scope(case_id: int, scope_id: int, *, state: str, values: dict[str, Any]) -> ScopeRow:
    return ScopeRow(
        case_id=case_id, kind=values["kind"], node_id=values["node"], generation=values["generation"], id=scope_id,
        state=state, expected=values["expected"], arrived=values.get("arrived", 0),
        approved_count=values.get("approved_count", 0), denied_count=values.get("denied_count", 0),
        outcome=values.get("outcome"),
    )


def _restored(case_id: int, was: ScopeState) -> ScopeRow:
    return ScopeRow(
        case_id=case_id, kind=was.kind, node_id=was.node_id, generation=was.generation, id=was.id, state=was.state,
        expected=was.expected, arrived=was.arrived, approved_count=was.approved_count,
        denied_count=was.denied_count, outcome=was.outcome, data=was.data,
    )


def _slot(task: Any, principal: Principal) -> Slot:
    return Slot(task["unit_id"], task["post_id"], principal.id, task["acting_for_id"])


def _seq(session: Session, task_id: int) -> int:
    return int(session.execute(select(TASK.c.seq).where(TASK.c.id == task_id)).scalar_one())
