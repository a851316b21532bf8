"""特别程序 stops the clock while it runs; 延期 moves the due time once, approved by the handling unit's leader."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.test_pauses import MONDAY, WEDNESDAY, accepted_case
from tests.cases.test_replay import assert_replays
from tests.cases.test_returns import the
from tests.engine.test_nodes__multi import case_of, decide, tasks
from xietong.cases import queries, service
from xietong.cases.models import Event, SpecialProcedure
from xietong.clock.due import extend_due
from xietong.errors import Conflict, Forbidden, InvalidInput, NotFound
from xietong.system.calendar import work_calendar
from xietong.worker import loop as _loop  # noqa: F401  (registers the timer handlers, as the worker does)
from xietong.worker import timers
from xietong.worker.models import Timer

PROCEDURE = {"kind": "expert_review", "reason": "技术方案需专家论证", "basis": "《中华人民共和国行政许可法》第四十五条"}


def pending_timers(session: Session, case_id: int, kind: str) -> list[Timer]:
    query = select(Timer).where(Timer.case_id == case_id, Timer.kind == kind, Timer.state == "pending")
    return list(session.scalars(query.execution_options(populate_existing=True)))


def test_a_special_procedure_stops_the_clock_and_its_end_moves_the_due_times(session: Session) -> None:
    city, case_id = accepted_case(session)
    decide(session, the(session, case_id, "accept"))
    staff = city.principal(session, "staffing")
    due, step_dues = case_of(session, case_id).due_at, {t.id: t.due_at for t in tasks(session, case_id)}

    procedure_id = service.start_special_procedure(
        session, principal=staff, case_id=case_id, planned_days=15, now=MONDAY, **PROCEDURE
    )
    case = case_of(session, case_id)
    assert (case.status, case.paused_from) == ("special_procedure", "in_progress")
    assert "start_special_procedure" not in queries.case_detail(session, principal=staff, case_id=case_id).actions
    with pytest.raises(Conflict):  # one at a time
        service.start_special_procedure(session, principal=staff, case_id=case_id, **PROCEDURE)
    with pytest.raises(Conflict):  # the clock is stopped: nothing to extend
        service.extend_case(session, principal=city.principal(session, "staffing", "leader_in_charge"),
                            case_id=case_id, days=5, reason="情况复杂")

    days = service.end_special_procedure(session, principal=staff, case_id=case_id, outcome="专家论证通过",
                                         now=WEDNESDAY)
    assert days == 3  # Monday, Tuesday and Wednesday were touched
    calendar = work_calendar(session.connection(), "Asia/Shanghai")
    case = case_of(session, case_id)
    assert case.status == "in_progress" and case.paused_days == 3
    assert case.due_at == extend_due(due, 3, calendar)
    assert {t.id: t.due_at for t in tasks(session, case_id)} == {
        i: extend_due(d, 3, calendar) if d is not None else None for i, d in step_dues.items()
    }
    procedure = session.get(SpecialProcedure, procedure_id)
    assert procedure is not None and (procedure.outcome, procedure.working_days, procedure.planned_days) == (
        "专家论证通过", 3, 15)
    assert [t.fire_at for t in pending_timers(session, case_id, "case_red")] == [case.due_at]
    kinds = session.scalars(select(Event.type).where(Event.case_id == case_id).order_by(Event.seq)).all()
    assert kinds[-2:] == ["case.special_procedure_started", "case.special_procedure_ended"]
    assert_replays(session, case_id)


def test_special_procedure_refusals(session: Session) -> None:
    city, case_id = accepted_case(session)
    staff = city.principal(session, "staffing")
    with pytest.raises(InvalidInput) as unknown:
        service.start_special_procedure(session, principal=staff, case_id=case_id, **{**PROCEDURE, "kind": "抽签"})
    assert unknown.value.code == "unknown_special_kind"
    with pytest.raises(InvalidInput):
        service.start_special_procedure(session, principal=staff, case_id=case_id, **{**PROCEDURE, "basis": " "})
    with pytest.raises(Forbidden):  # the applicant's unit does not run the case's procedures
        service.start_special_procedure(session, principal=city.principal(session, "office"), case_id=case_id,
                                        **PROCEDURE)
    with pytest.raises(Conflict):  # none is running
        service.end_special_procedure(session, principal=staff, case_id=case_id, outcome="完成")
    assert case_of(session, case_id).status == "accepted"
    assert_replays(session, case_id)


def test_an_extension_moves_the_due_time_once_with_the_leaders_approval(session: Session) -> None:
    city, case_id = accepted_case(session)
    leader = city.principal(session, "staffing", "leader_in_charge")
    clerk = city.principal(session, "staffing")
    case = case_of(session, case_id)
    due = case.due_at
    assert due is not None

    assert "extend" in queries.case_detail(session, principal=leader, case_id=case_id).actions
    assert "extend" not in queries.case_detail(session, principal=clerk, case_id=case_id).actions
    with pytest.raises(Forbidden):
        service.extend_case(session, principal=clerk, case_id=case_id, days=5, reason="情况复杂")
    with pytest.raises(NotFound):  # a leader of a unit with no part in the case: to them it does not exist
        service.extend_case(session, principal=city.principal(session, "finance", "leader_in_charge"),
                            case_id=case_id, days=5, reason="情况复杂")
    with pytest.raises(InvalidInput):
        service.extend_case(session, principal=leader, case_id=case_id, days=11, reason="情况复杂")
    with pytest.raises(InvalidInput):
        service.extend_case(session, principal=leader, case_id=case_id, days=5, reason="")

    late = due + timedelta(seconds=1)  # already overdue: the extension takes the red card back
    timers.fire_timers(session, now=late, limit=100_000)
    assert case_of(session, case_id).card == "red"
    new_due = service.extend_case(session, principal=leader, case_id=case_id, days=10, reason="需补充调查", now=late)
    calendar = work_calendar(session.connection(), "Asia/Shanghai")
    case = case_of(session, case_id)
    assert new_due == case.due_at == extend_due(due, 10, calendar) and case.extended_days == 10
    assert case.card == "none"
    assert [t.fire_at for t in pending_timers(session, case_id, "case_red")] == [new_due]
    assert len(pending_timers(session, case_id, "case_yellow")) == 1
    with pytest.raises(Conflict) as twice:
        service.extend_case(session, principal=leader, case_id=case_id, days=1, reason="再延")
    assert twice.value.code == "already_extended"
    assert "extend" not in queries.case_detail(session, principal=leader, case_id=case_id).actions
    event = session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.seq.desc())).first()
    assert event is not None and event.type == "case.extended" and event.actor_id == leader.id
    assert event.delta["extension"]["days"] == 10
    assert datetime.fromisoformat(event.delta["extension"]["to"]).astimezone(UTC) == new_due
    assert_replays(session, case_id)
