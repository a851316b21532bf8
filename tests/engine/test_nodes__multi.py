"""Multi-instance steps: 会签 (all), 或签 (any), ratio, and sequential signing, driven through real operations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import City, make_city, post_rule, publish_matter
from xietong.cases import service
from xietong.cases.models import Case
from xietong.directory.models import Membership
from xietong.engine.models import Task
from xietong.security.principal import load_principal

UNITS = [{"ref": "function", "function": "finance"}, {"ref": "function", "function": "hr_social"}]
CLERKS = {"rule": "post", "unit": {"ref": "function", "function": "finance"}, "post": "clerk"}


def sign_process(assign: dict[str, Any], multi: dict[str, Any]) -> dict[str, Any]:
    """start → sign (multi) → gw: approved → next → end; default → end_no."""
    return {
        "schema": "xietong.process/1",
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "sign", "type": "user_task", "name": "会签", "assign": assign, "multi": multi},
            {"id": "gw", "type": "exclusive"},
            {"id": "next", "type": "user_task", "name": "下一步", "assign": post_rule("staffing", "clerk")},
            {"id": "end", "type": "end"},
            {"id": "end_no", "type": "end"},
        ],
        "flows": [
            {"id": "f1", "from": "start", "to": "sign"},
            {"id": "f2", "from": "sign", "to": "gw"},
            {"id": "f_yes", "from": "gw", "to": "next", "condition": "approved"},
            {"id": "f_no", "from": "gw", "to": "end_no", "default": True},
            {"id": "f3", "from": "next", "to": "end"},
        ],
    }


def start_case(session: Session, city: City, process: dict[str, Any]) -> int:
    local = publish_matter(session, city, process)
    case_id, _ = service.submit_case(
        session,
        principal=city.principal(session, "office"),
        local_matter_id=local.id,
        applicant_unit_id=city.units["office"].id,
        form={"title": "会签测试"},
    )
    service.accept_case(session, principal=city.principal(session, "staffing"), case_id=case_id)
    return case_id


def tasks(session: Session, case_id: int, state: str | None = "open") -> list[Task]:
    query = select(Task).where(Task.case_id == case_id).order_by(Task.id).execution_options(populate_existing=True)
    if state is not None:
        query = query.where(Task.state == state)
    return list(session.scalars(query))


def decide(session: Session, task: Task, approved: bool = True) -> None:
    person_id = task.assignee_id
    if person_id is None:
        person_id = session.scalars(
            select(Membership.person_id).where(Membership.unit_id == task.unit_id, Membership.post_id == task.post_id)
        ).first()
    assert person_id is not None
    principal = load_principal(session, person_id)
    service.complete_task(session, principal=principal, task_id=task.id, approved=approved, opinion="意见")


def case_of(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    assert case is not None
    session.refresh(case)
    return case


def test_countersign_all_waits_for_every_unit_then_moves_on(session: Session) -> None:
    city = make_city(session)
    case_id = start_case(
        session, city, sign_process({"rule": "posts", "units": UNITS, "post": "section_chief"}, {"mode": "all"})
    )
    signers = tasks(session, case_id)
    assert [t.unit_id for t in signers] == [city.units["finance"].id, city.units["hr_social"].id]
    assert all(t.node_id == "sign" and t.assignee_id is None for t in signers)
    decide(session, signers[0])
    assert [t.id for t in tasks(session, case_id)] == [signers[1].id]
    decide(session, signers[1])
    [nxt] = tasks(session, case_id)
    assert nxt.node_id == "next"
    result = case_of(session, case_id).step_results["sign"]
    assert result["approved"] is True and result["approved_count"] == 2 and result["denied_count"] == 0


def test_countersign_all_with_one_denial_is_denied_and_takes_the_default_flow(session: Session) -> None:
    city = make_city(session)
    case_id = start_case(
        session, city, sign_process({"rule": "posts", "units": UNITS, "post": "section_chief"}, {"mode": "all"})
    )
    first, second = tasks(session, case_id)
    decide(session, first, approved=False)
    assert [t.id for t in tasks(session, case_id)] == [second.id]  # all-mode still waits for everyone
    decide(session, second)
    assert tasks(session, case_id) == []
    case = case_of(session, case_id)
    assert case.step_results["sign"]["approved"] is False
    assert case.step_results["sign"]["denied_count"] == 1
    assert case.process_state == "finished"  # routed to end_no by the default flow


def test_or_sign_any_first_approval_decides_and_cancels_the_other(session: Session) -> None:
    city = make_city(session)
    case_id = start_case(
        session, city, sign_process({"rule": "posts", "units": UNITS, "post": "section_chief"}, {"mode": "any"})
    )
    first, second = tasks(session, case_id)
    decide(session, second)
    [nxt] = tasks(session, case_id)
    assert nxt.node_id == "next"
    assert {t.id: t.state for t in tasks(session, case_id, None) if t.node_id == "sign"} == {
        first.id: "cancelled",
        second.id: "completed",
    }
    assert case_of(session, case_id).step_results["sign"]["approved"] is True


def test_or_sign_any_first_denial_decides_too(session: Session) -> None:
    city = make_city(session)
    case_id = start_case(
        session, city, sign_process({"rule": "posts", "units": UNITS, "post": "section_chief"}, {"mode": "any"})
    )
    first, second = tasks(session, case_id)
    decide(session, first, approved=False)
    assert tasks(session, case_id) == []
    assert {t.id: t.state for t in tasks(session, case_id, None)} == {first.id: "completed", second.id: "cancelled"}
    case = case_of(session, case_id)
    assert case.step_results["sign"]["approved"] is False and case.process_state == "finished"


def test_ratio_half_of_four_holders_approves_at_the_second_approval(session: Session) -> None:
    city = make_city(session, holders=4)
    case_id = start_case(session, city, sign_process(CLERKS, {"mode": "ratio", "ratio": 0.5}))
    signers = tasks(session, case_id)
    holders = [city.person("finance", "clerk", i).id for i in range(4)]
    assert sorted(t.assignee_id for t in signers) == sorted(holders)  # one personal task per holder
    decide(session, signers[0], approved=False)
    decide(session, signers[1])
    assert len(tasks(session, case_id)) == 2
    decide(session, signers[2])
    [nxt] = tasks(session, case_id)
    assert nxt.node_id == "next"
    result = case_of(session, case_id).step_results["sign"]
    assert result == {"approved": True, "outcome": "approve", "approved_count": 2, "denied_count": 1}
    assert {t.id: t.state for t in tasks(session, case_id, None) if t.node_id == "sign"}[signers[3].id] == "cancelled"


def test_ratio_half_of_four_is_denied_once_it_can_no_longer_be_reached(session: Session) -> None:
    city = make_city(session, holders=4)
    case_id = start_case(session, city, sign_process(CLERKS, {"mode": "ratio", "ratio": 0.5}))
    signers = tasks(session, case_id)
    for task in signers[:3]:
        decide(session, task, approved=False)
    assert tasks(session, case_id) == []
    assert case_of(session, case_id).step_results["sign"]["approved"] is False


def test_sequential_signers_get_their_task_one_after_another_in_order(session: Session) -> None:
    city = make_city(session, holders=3)
    case_id = start_case(session, city, sign_process(CLERKS, {"mode": "all", "order": "sequential"}))
    holders = sorted(city.person("finance", "clerk", i).id for i in range(3))
    seen = []
    for expected_seq, holder in enumerate(holders):
        [task] = tasks(session, case_id)
        assert (task.node_id, task.assignee_id, task.seq) == ("sign", holder, expected_seq)
        seen.append(task.id)
        decide(session, task)
    [nxt] = tasks(session, case_id)
    assert nxt.node_id == "next"
    assert seen == sorted(seen)
    assert case_of(session, case_id).step_results["sign"]["approved_count"] == 3


def test_sequential_or_sign_stops_at_the_first_signer(session: Session) -> None:
    city = make_city(session, holders=3)
    case_id = start_case(session, city, sign_process(CLERKS, {"mode": "any", "order": "sequential"}))
    [first] = tasks(session, case_id)
    decide(session, first)
    [nxt] = tasks(session, case_id)
    assert nxt.node_id == "next"
    assert len(tasks(session, case_id, None)) == 2  # the later signers never got a task
