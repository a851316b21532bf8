"""Random sequences of handling operations (decide, return anywhere, withdraw, suspend, 补正, return to the
applicant and resubmit) keep the engine invariants: a refused operation changes nothing, the event log replays
to the stored state, no open task sits in a closed scope, and the due time never moves backwards."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.cases.test_replay import assert_replays
from tests.cases.test_returns import branched_process, holder
from tests.engine.test_nodes__multi import case_of, start_case, tasks
from tests.factories import make_city
from xietong.cases import service
from xietong.cases.models import Event
from xietong.cases.replay import load_events, verify_chain
from xietong.engine.models import Scope, Task
from xietong.errors import DomainError

OPERATIONS = ("approve", "deny", "return", "withdraw", "suspend", "supplement", "to_applicant")
NODES = ("accept", "fin1", "fin2", "hr", "approve")


def _events(session: Session, case_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Event).where(Event.case_id == case_id)) or 0


def _apply(session: Session, city: Any, case_id: int, op: str, pick: int, target: str) -> None:
    open_tasks = tasks(session, case_id)
    task = open_tasks[pick % len(open_tasks)] if open_tasks else None
    applicant = city.principal(session, "office")
    staff = city.principal(session, "staffing")
    if op in ("approve", "deny") and task is not None:
        service.complete_task(session, principal=holder(session, task), task_id=task.id, approved=op == "approve")
    elif op == "return" and task is not None:
        service.return_task(session, principal=holder(session, task), task_id=task.id, target=target, reason="退回")
    elif op == "withdraw":
        done = session.scalars(select(Task).where(Task.case_id == case_id, Task.state == "completed")
                               .order_by(Task.completed_at.desc(), Task.id.desc())).first()
        if done is not None:
            service.withdraw_decision(session, principal=holder(session, done), task_id=done.id)
    elif op == "suspend":
        service.suspend_case(session, principal=staff, case_id=case_id, reason="挂起")
        service.resume_case(session, principal=staff, case_id=case_id)
    elif op == "supplement":
        service.request_supplement(session, principal=staff, case_id=case_id, items=[{"note": "补充材料"}])
        service.resubmit_case(session, principal=applicant, case_id=case_id, form={"title": f"补正{pick}"})
    elif op == "to_applicant" and task is not None:
        service.return_task(session, principal=holder(session, task), task_id=task.id, target="applicant",
                            reason="退回申请人", resume_mode="direct" if pick % 2 else "chain")
        service.resubmit_case(session, principal=applicant, case_id=case_id, form={"title": f"重新提交{pick}"})


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(OPERATIONS), st.integers(0, 5), st.sampled_from(NODES)), max_size=20))
def test_random_handling_keeps_the_invariants(session: Session, steps: list[tuple[str, int, str]]) -> None:
    savepoint = session.begin_nested()
    try:
        city = make_city(session)
        case_id = start_case(session, city, branched_process())
        due = case_of(session, case_id).due_at
        for op, pick, target in steps:
            before = _events(session, case_id)
            nested = session.begin_nested()
            try:
                _apply(session, city, case_id, op, pick, target)
                nested.commit()
            except DomainError:
                nested.rollback()
                session.expire_all()
                assert _events(session, case_id) == before  # a refusal changes nothing
            case = case_of(session, case_id)
            assert case.due_at is None or due is None or case.due_at >= due
            due = case.due_at
            closed_scopes = {s.id for s in session.scalars(select(Scope).where(Scope.case_id == case_id,
                                                                                Scope.state != "active"))}
            assert not [t for t in tasks(session, case_id) if t.scope_id in closed_scopes]
            assert_replays(session, case_id)
            assert verify_chain(load_events(session, case_id)) == []
    finally:
        savepoint.rollback()
