"""Who may do what to a case: refused operations raise and change nothing; visibility follows the parties."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.engine.test_nodes__multi import case_of, decide, tasks
from tests.factories import City, linear_process, make_city, post_rule, publish_matter
from xietong.cases import service
from xietong.cases.models import Case, Event
from xietong.errors import Conflict, Forbidden, InvalidInput, NotFound
from xietong.security.permissions import visible_cases
from xietong.security.principal import Principal

PROCESS = linear_process(("review", post_rule("finance")), ("approve", post_rule("staffing", "leader_in_charge")))


def started(session: Session, city: City) -> int:
    local = publish_matter(session, city, PROCESS)
    case_id, _ = service.submit_case(
        session,
        principal=city.principal(session, "office"),
        local_matter_id=local.id,
        applicant_unit_id=city.units["office"].id,
        form={"title": "权限测试"},
    )
    service.accept_case(session, principal=city.principal(session, "staffing"), case_id=case_id)
    return case_id


def event_count(session: Session, case_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Event).where(Event.case_id == case_id)) or 0


def test_a_person_of_another_unit_cannot_complete_the_task_and_nothing_changes(session: Session) -> None:
    city = make_city(session)
    case_id = started(session, city)
    [review] = tasks(session, case_id)
    events = event_count(session, case_id)
    with pytest.raises(NotFound):  # a unit with no part in the case: its task does not exist to it
        service.complete_task(
            session, principal=city.principal(session, "big_data", "section_chief"), task_id=review.id, approved=True
        )
    [still] = tasks(session, case_id)
    assert (still.id, still.state, still.assignee_id) == (review.id, "open", None)
    assert event_count(session, case_id) == events
    assert case_of(session, case_id).step_results == {}


def test_the_same_unit_but_another_post_cannot_complete_a_shared_task(session: Session) -> None:
    city = make_city(session)
    case_id = started(session, city)
    [review] = tasks(session, case_id)
    with pytest.raises(Forbidden):
        service.complete_task(
            session, principal=city.principal(session, "finance", "clerk"), task_id=review.id, approved=True
        )


def test_deciding_an_already_completed_task_is_a_conflict(session: Session) -> None:
    city = make_city(session)
    case_id = started(session, city)
    [review] = tasks(session, case_id)
    decide(session, review)
    events = event_count(session, case_id)
    with pytest.raises(Conflict):
        service.complete_task(
            session, principal=city.principal(session, "finance", "section_chief", 1), task_id=review.id, approved=False
        )
    assert [t.node_id for t in tasks(session, case_id)] == ["approve"]
    assert event_count(session, case_id) == events


def test_accept_by_a_person_outside_the_handling_unit_is_forbidden(session: Session) -> None:
    city = make_city(session)
    local = publish_matter(session, city, PROCESS)
    case_id, _ = service.submit_case(
        session,
        principal=city.principal(session, "office"),
        local_matter_id=local.id,
        applicant_unit_id=city.units["office"].id,
        form={"title": "权限测试"},
    )
    with pytest.raises(NotFound):  # no part in the case: answered as for a missing case
        service.accept_case(session, principal=city.principal(session, "finance"), case_id=case_id)
    case = case_of(session, case_id)
    assert case.status == "submitted" and case.process_state == "not_started"


def test_conclude_before_the_process_finished_is_a_conflict(session: Session) -> None:
    city = make_city(session)
    case_id = started(session, city)
    with pytest.raises(Conflict):
        service.conclude_case(session, principal=city.principal(session, "staffing"), case_id=case_id, result="granted")
    assert case_of(session, case_id).status != "concluded"


def test_submitting_with_form_errors_lists_every_field_and_writes_no_case(session: Session) -> None:
    city = make_city(session)
    local = publish_matter(session, city, PROCESS)
    before = session.scalar(select(func.count()).select_from(Case))
    with pytest.raises(InvalidInput) as info:
        service.submit_case(
            session,
            principal=city.principal(session, "office"),
            local_matter_id=local.id,
            applicant_unit_id=city.units["office"].id,
            form={"title": "x", "amount": -5},
        )
    assert {p.field for p in info.value.errors} == {"title", "amount"}
    assert session.scalar(select(func.count()).select_from(Case)) == before


def test_submitting_for_a_unit_one_does_not_belong_to_is_forbidden(session: Session) -> None:
    city = make_city(session)
    local = publish_matter(session, city, PROCESS)
    with pytest.raises(Forbidden):
        service.submit_case(
            session,
            principal=city.principal(session, "office"),
            local_matter_id=local.id,
            applicant_unit_id=city.units["finance"].id,
            form={"title": "冒名申请"},
        )


def visible(session: Session, principal: Principal) -> set[int]:
    return set(session.scalars(select(Case.id).where(visible_cases(principal))))


def test_visible_cases_follow_the_parties_of_the_case(session: Session) -> None:
    city = make_city(session)
    case_id = started(session, city)
    decide(session, tasks(session, case_id)[0])  # finance held the review step
    assert case_id in visible(session, city.principal(session, "office"))  # applicant unit
    assert case_id in visible(session, city.principal(session, "staffing"))  # handling unit
    assert case_id in visible(session, city.principal(session, "finance"))  # held a step, any post
    assert case_id not in visible(session, city.principal(session, "big_data"))  # unrelated
    assert case_id not in visible(session, city.principal(session, "hr_social", "head"))
