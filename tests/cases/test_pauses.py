"""补正, resubmission, 挂起 and 恢复: the clock stops and the due time moves by the working days paused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.test_replay import assert_replays
from tests.cases.test_returns import branched_process, holder, open_nodes, the
from tests.engine.test_nodes__multi import case_of, decide, start_case, tasks
from tests.factories import make_city
from xietong.cases import service
from xietong.cases.models import Event, SupplementRequest
from xietong.errors import Conflict, Forbidden, InvalidInput, NotFound
from xietong.worker.models import Timer

# 2026-03-02 is a Monday; 2026-03-04 a Wednesday (no holidays that week)
MONDAY = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
WEDNESDAY = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)


def accepted_case(session: Session):  # type: ignore[no-untyped-def]
    city = make_city(session)
    case_id = start_case(session, city, branched_process())
    return city, case_id


def test_supplement_pauses_the_clock_and_resubmission_records_what_changed(session: Session) -> None:
    city, case_id = accepted_case(session)
    accept = the(session, case_id, "accept")
    due = case_of(session, case_id).due_at
    service.request_supplement(
        session, principal=holder(session, accept), case_id=case_id, now=MONDAY,
        items=[{"field": "title", "note": "申请事由写得不清楚"}, {"note": "缺少编制核定表"}], reason="材料不全",
    )
    case = case_of(session, case_id)
    assert case.status == "supplementing" and case.paused_from == "accepted" and case.paused_at == MONDAY
    with pytest.raises(Conflict):  # the waiting task cannot be decided while the applicant corrects
        decide(session, accept)
    service.resubmit_case(
        session, principal=city.principal(session, "office"), case_id=case_id, form={"title": "申请增加两名编制"},
        note="已补充", now=WEDNESDAY,
    )
    case = case_of(session, case_id)
    assert case.status == "accepted" and case.paused_at is None and case.paused_days == 3  # Mon, Tue, Wed touched
    assert case.due_at > due
    request = session.scalars(select(SupplementRequest).where(SupplementRequest.case_id == case_id)).one()
    assert [i["note"] for i in request.items] == ["申请事由写得不清楚", "缺少编制核定表"]
    assert request.changes["form"] == {"title": {"before": "会签测试", "after": "申请增加两名编制"}}
    event = session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.seq.desc())).first()
    assert event.type == "case.resubmitted" and event.delta["changes"]["form"]["title"]["after"] == "申请增加两名编制"
    pending = session.scalars(select(Timer).where(Timer.case_id == case_id, Timer.kind == "case_red")).all()
    assert sorted(t.state for t in pending) == ["cancelled", "pending"]
    assert next(t for t in pending if t.state == "pending").fire_at == case.due_at
    decide(session, the(session, case_id, "accept"))
    assert open_nodes(session, case_id) == ["fin1", "hr"]
    assert_replays(session, case_id)


def test_supplement_refusals(session: Session) -> None:
    city, case_id = accepted_case(session)
    accept = the(session, case_id, "accept")
    with pytest.raises(InvalidInput) as empty:
        service.request_supplement(session, principal=holder(session, accept), case_id=case_id, items=[])
    assert empty.value.code == "items_required"
    with pytest.raises(InvalidInput) as bad:
        service.request_supplement(
            session, principal=holder(session, accept), case_id=case_id, items=[{"material": "nope", "note": ""}]
        )
    assert {e.code for e in bad.value.errors} == {"note_required", "unknown_material"}
    with pytest.raises(NotFound):  # big_data has no part in the case: to it the case does not exist
        service.request_supplement(
            session, principal=city.principal(session, "big_data"), case_id=case_id, items=[{"note": "x"}]
        )
    with pytest.raises(Conflict):  # nothing to resubmit: the case is not waiting for the applicant
        service.resubmit_case(session, principal=city.principal(session, "office"), case_id=case_id, form={})
    service.request_supplement(session, principal=holder(session, accept), case_id=case_id, items=[{"note": "x"}])
    with pytest.raises(InvalidInput) as unchanged:
        service.resubmit_case(
            session, principal=city.principal(session, "office"), case_id=case_id, form={"title": "会签测试"}
        )
    assert unchanged.value.code == "nothing_changed"
    with pytest.raises(Forbidden):  # only the applicant side hands in a 补正
        service.resubmit_case(session, principal=holder(session, accept), case_id=case_id, form={"title": "改了"})
    assert case_of(session, case_id).status == "supplementing"
    assert_replays(session, case_id)


def test_suspend_and_resume_move_the_due_time_by_the_working_days_suspended(session: Session) -> None:
    city, case_id = accepted_case(session)
    decide(session, the(session, case_id, "accept"))
    staff = city.principal(session, "staffing")
    due = case_of(session, case_id).due_at
    with pytest.raises(InvalidInput):
        service.suspend_case(session, principal=staff, case_id=case_id, reason="")
    with pytest.raises(Forbidden):
        service.suspend_case(session, principal=city.principal(session, "finance"), case_id=case_id, reason="等待")
    step_dues = {t.id: t.due_at for t in tasks(session, case_id)}
    service.suspend_case(session, principal=staff, case_id=case_id, reason="等待上级批复", now=MONDAY)
    case = case_of(session, case_id)
    assert case.status == "suspended" and case.paused_from == "in_progress"
    with pytest.raises(Conflict):
        service.suspend_case(session, principal=staff, case_id=case_id, reason="再挂起")
    service.resume_case(session, principal=staff, case_id=case_id, now=MONDAY.replace(hour=8))
    case = case_of(session, case_id)
    assert case.status == "in_progress" and case.paused_days == 1 and case.due_at > due
    moved = {t.id: t.due_at for t in tasks(session, case_id)}
    assert len(step_dues) == 2 and all(moved[i] > d for i, d in step_dues.items())  # the steps' limits moved too
    rearmed = session.scalars(select(Timer).where(Timer.case_id == case_id, Timer.kind == "task_due",
                                                  Timer.state == "pending")).all()
    assert {t.task_id: t.fire_at for t in rearmed} == {i: d for i, d in moved.items() if d is not None}
    with pytest.raises(Conflict):
        service.resume_case(session, principal=staff, case_id=case_id)
    assert sorted(tasks(session, case_id), key=lambda t: t.node_id)[0].node_id == "fin1"
    assert_replays(session, case_id)
