"""撤回 a decision: exact undo while the next step has not acted, and refused once it has."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.cases.test_replay import assert_replays
from tests.cases.test_returns import branched_process, holder, open_nodes, the
from tests.engine.test_nodes__multi import UNITS, case_of, decide, sign_process, start_case, tasks
from tests.factories import make_city
from xietong.cases import service
from xietong.engine.models import Scope
from xietong.errors import Conflict, Forbidden


def test_withdrawing_a_decision_cancels_what_it_opened_and_reopens_the_step(session: Session) -> None:
    city = make_city(session)
    case_id = start_case(session, city, branched_process())
    accept = the(session, case_id, "accept")
    me = holder(session, accept)
    decide(session, accept)
    assert open_nodes(session, case_id) == ["fin1", "hr"]
    reopened = service.withdraw_decision(session, principal=me, task_id=accept.id)
    [again] = tasks(session, case_id)
    assert again.id == reopened and again.node_id == "accept" and again.assignee_id == me.id
    states = {t.id: t.state for t in tasks(session, case_id, None)}
    assert states[accept.id] == "withdrawn" and sorted(states.values()).count("cancelled") == 2
    parallel = session.query(Scope).filter(Scope.case_id == case_id, Scope.kind == "parallel").one()
    assert parallel.state == "cancelled"
    assert_replays(session, case_id)
    decide(session, again)
    assert open_nodes(session, case_id) == ["fin1", "hr"]
    assert_replays(session, case_id)


def test_withdrawing_a_branch_arrival_restores_the_join_counter(session: Session) -> None:
    city = make_city(session)
    case_id = start_case(session, city, branched_process())
    decide(session, the(session, case_id, "accept"))
    hr = the(session, case_id, "hr")
    reviewer = holder(session, hr)
    decide(session, hr)
    service.withdraw_decision(session, principal=reviewer, task_id=hr.id)
    assert open_nodes(session, case_id) == ["fin1", "hr"]
    for node in ("fin1", "fin2"):
        decide(session, the(session, case_id, node))
    assert open_nodes(session, case_id) == ["hr"]  # the join waits for hr again: its withdrawn arrival is gone
    decide(session, the(session, case_id, "hr"))
    assert open_nodes(session, case_id) == ["approve"]
    assert_replays(session, case_id)


def test_withdrawing_an_or_sign_reopens_the_co_signers_it_cancelled(session: Session) -> None:
    city = make_city(session)
    case_id = start_case(session, city, sign_process({"rule": "posts", "units": UNITS, "post": "section_chief"},
                                                       {"mode": "any"}))
    first, _second = tasks(session, case_id)
    signer = holder(session, first)
    decide(session, first)
    assert open_nodes(session, case_id) == ["next"]
    service.withdraw_decision(session, principal=signer, task_id=first.id)
    assert open_nodes(session, case_id) == ["sign", "sign"]
    assert "sign" not in case_of(session, case_id).step_results
    assert_replays(session, case_id)


def test_withdrawal_is_refused_once_the_next_step_acted_or_for_someone_else(session: Session) -> None:
    city = make_city(session)
    case_id = start_case(session, city, branched_process())
    accept = the(session, case_id, "accept")
    me = holder(session, accept)
    decide(session, accept)
    with pytest.raises(Forbidden):
        service.withdraw_decision(session, principal=city.principal(session, "finance"), task_id=accept.id)
    service.claim_task(session, principal=holder(session, the(session, case_id, "hr")),
                       task_id=the(session, case_id, "hr").id)
    with pytest.raises(Conflict) as acted:
        service.withdraw_decision(session, principal=me, task_id=accept.id)
    assert acted.value.code == "next_step_acted"
    assert open_nodes(session, case_id) == ["fin1", "hr"]
    assert_replays(session, case_id)
