"""A case through the reference joint-approval process, built only with real operations."""

from __future__ import annotations

import itertools

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import City, joint_approval_process, make_city, publish_matter
from xietong.cases import service
from xietong.cases.models import Case, Event
from xietong.engine.models import Task


def open_tasks(session: Session, case_id: int) -> list[Task]:
    return list(session.scalars(select(Task).where(Task.case_id == case_id, Task.state == "open").order_by(Task.id)))


def submit_and_accept(session: Session, city: City, local_id: int) -> int:
    clerk = city.principal(session, "office")
    case_id, number = service.submit_case(
        session,
        principal=clerk,
        local_matter_id=local_id,
        applicant_unit_id=city.units["office"].id,
        form={"title": "申请增加编制"},
    )
    assert number.startswith(f"XT{city.region.code}")
    service.accept_case(session, principal=city.principal(session, "staffing"), case_id=case_id)
    return case_id


def decide(session: Session, city: City, task: Task, approved: bool = True) -> None:
    function = next(f for f, u in city.units.items() if u.id == task.unit_id)
    principal = next(
        city.principal(session, function, code)
        for code in ("clerk", "section_chief", "leader_in_charge")
        if (task.unit_id, task.post_id) in city.principal(session, function, code).posts
    )
    service.complete_task(session, principal=principal, task_id=task.id, approved=approved, opinion="同意")


def test_joint_approval_runs_to_the_end(session: Session) -> None:
    city = make_city(session)
    local = publish_matter(session, city, joint_approval_process())
    case_id = submit_and_accept(session, city, local.id)
    [accept] = open_tasks(session, case_id)
    assert accept.node_id == "accept"
    decide(session, city, accept)
    reviews = open_tasks(session, case_id)
    assert sorted(t.node_id for t in reviews) == ["review_big_data", "review_finance", "review_hr_social"]
    for task in reviews:
        decide(session, city, task)
    [approve] = open_tasks(session, case_id)
    assert approve.node_id == "approve"
    decide(session, city, approve)
    case = session.get(Case, case_id)
    session.refresh(case)
    assert case.process_state == "finished" and open_tasks(session, case_id) == []
    service.conclude_case(session, principal=city.principal(session, "staffing"), case_id=case_id, result="granted")
    session.refresh(case)
    assert case.status == "concluded"
    events = session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.seq)).all()
    assert [e.type for e in events][:3] == ["case.submitted", "case.accepted", "task.completed"]
    assert all(e.prev_hash == p.hash for p, e in itertools.pairwise(events))


def test_a_denied_review_loops_back_to_accept(session: Session) -> None:
    city = make_city(session)
    local = publish_matter(session, city, joint_approval_process())
    case_id = submit_and_accept(session, city, local.id)
    decide(session, city, open_tasks(session, case_id)[0])
    reviews = open_tasks(session, case_id)
    decide(session, city, reviews[0], approved=False)
    for task in reviews[1:]:
        decide(session, city, task)
    [again] = open_tasks(session, case_id)
    assert again.node_id == "accept"


def test_deciding_keeps_the_claim_time_and_records_who_held_a_shared_task(session: Session) -> None:
    from datetime import timedelta

    from xietong.db.base import utcnow

    city = make_city(session)
    local = publish_matter(session, city, joint_approval_process())
    case_id = submit_and_accept(session, city, local.id)
    [accept] = open_tasks(session, case_id)
    clerk = city.principal(session, "staffing", "clerk", 1)
    claimed_at = utcnow() - timedelta(hours=2)
    service.claim_task(session, principal=clerk, task_id=accept.id, now=claimed_at)
    service.complete_task(session, principal=clerk, task_id=accept.id, approved=True)
    session.refresh(accept)
    assert accept.claimed_at == claimed_at and accept.completed_at > claimed_at  # 签收 time is not overwritten
    review = next(t for t in open_tasks(session, case_id) if t.node_id == "review_finance")
    assert review.assignee_id is None  # shared by the post until someone acts
    decide(session, city, review)
    session.refresh(review)
    assert review.assignee_id == review.completed_by_id is not None and review.claimed_at == review.completed_at
