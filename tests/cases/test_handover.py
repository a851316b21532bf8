"""转办 and 加签/减签 on parallel and sequential countersigns, in any order, with the completion rule recomputed."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.cases.test_replay import assert_replays
from tests.cases.test_returns import branched_process, holder, open_nodes, the
from tests.engine.test_nodes__multi import CLERKS, case_of, decide, sign_process, start_case, tasks
from tests.factories import make_city
from xietong.cases import service
from xietong.engine.errors import RoutingError
from xietong.errors import Conflict, Forbidden, InvalidInput


def test_transfer_gives_the_step_to_a_colleague_with_its_due_time(session: Session) -> None:
    city = make_city(session)
    case_id = start_case(session, city, branched_process())
    accept = the(session, case_id, "accept")
    me = holder(session, accept)
    colleague = city.person("staffing", "clerk", 1)
    if colleague.id == me.id:
        colleague = city.person("staffing", "clerk", 0)
    new_id = service.transfer_task(session, principal=me, task_id=accept.id, to_person_id=colleague.id, note="请代办")
    [moved] = tasks(session, case_id)
    assert moved.id == new_id and moved.assignee_id == colleague.id and moved.due_at == accept.due_at
    assert {t.id: t.state for t in tasks(session, case_id, None)}[accept.id] == "transferred"
    with pytest.raises(Conflict):
        service.transfer_task(session, principal=me, task_id=accept.id, to_person_id=colleague.id)
    with pytest.raises(Conflict) as outside:
        service.transfer_task(session, principal=holder(session, moved), task_id=new_id,
                              to_person_id=city.person("finance", "clerk").id)
    assert outside.value.code == "transfer_outside_unit"
    with pytest.raises(Forbidden):
        service.transfer_task(session, principal=me, task_id=new_id, to_person_id=me.id)
    decide(session, moved)
    assert open_nodes(session, case_id) == ["fin1", "hr"]
    assert_replays(session, case_id)


def test_add_then_remove_signers_on_a_parallel_countersign(session: Session) -> None:
    city = make_city(session)
    case_id = start_case(session, city, sign_process(CLERKS, {"mode": "all"}))
    first, second = tasks(session, case_id)  # the two finance clerks
    extra = [city.person("hr_social", "clerk").id, city.person("big_data", "clerk").id]
    opened = service.add_signers(session, principal=holder(session, first), task_id=first.id, person_ids=extra)
    assert len(opened) == 2 and len(tasks(session, case_id)) == 4
    with pytest.raises(RoutingError):
        service.add_signers(session, principal=holder(session, first), task_id=first.id, person_ids=extra[:1])
    decide(session, first)
    decide(session, second)
    service.remove_signer(session, principal=holder(session, first), task_id=opened[0], person_id=extra[0])
    assert [t.node_id for t in tasks(session, case_id)] == ["sign"]  # big_data still signs
    # removing the last one who has not signed decides the step: everyone left has approved
    service.remove_signer(session, principal=holder(session, first), task_id=opened[1], person_id=extra[1])
    assert open_nodes(session, case_id) == ["next"]
    assert case_of(session, case_id).step_results["sign"]["approved"] is True
    assert_replays(session, case_id)


def test_sequential_countersign_add_before_and_after_and_remove_pending(session: Session) -> None:
    city = make_city(session)
    case_id = start_case(session, city, sign_process(CLERKS, {"mode": "all", "order": "sequential"}))
    [current] = tasks(session, case_id)
    me = holder(session, current)
    before, after = city.person("hr_social", "clerk").id, city.person("big_data", "clerk").id
    service.add_signers(session, principal=me, task_id=current.id, person_ids=[after], position="after")
    [still] = tasks(session, case_id)
    assert still.id == current.id
    service.add_signers(session, principal=me, task_id=current.id, person_ids=[before], position="before")
    [now_first] = tasks(session, case_id)
    assert now_first.assignee_id == before
    with pytest.raises(RoutingError):  # a parallel add on a sequential step
        service.add_signers(session, principal=me, task_id=now_first.id, person_ids=[after], position="parallel")
    decide(session, now_first)
    [mine_again] = tasks(session, case_id)
    assert mine_again.assignee_id == current.assignee_id  # back to me after the one added before me
    decide(session, mine_again)
    [big_data] = tasks(session, case_id)
    assert big_data.assignee_id == after
    decide(session, big_data)
    [second_clerk] = tasks(session, case_id)
    assert second_clerk.unit_id == current.unit_id and second_clerk.assignee_id != current.assignee_id
    # removing the current (and last) signer decides the step on the three signatures given
    assert second_clerk.assignee_id is not None
    service.remove_signer(session, principal=me, task_id=second_clerk.id, person_id=second_clerk.assignee_id)
    assert open_nodes(session, case_id) == ["next"]
    assert case_of(session, case_id).step_results["sign"]["approved_count"] == 3
    assert_replays(session, case_id)


def test_signer_changes_are_refused_where_they_make_no_sense(session: Session) -> None:
    city = make_city(session)
    case_id = start_case(session, city, branched_process())
    accept = the(session, case_id, "accept")
    with pytest.raises(Conflict) as single:
        service.add_signers(session, principal=holder(session, accept), task_id=accept.id,
                            person_ids=[city.person("finance", "clerk").id])
    assert single.value.code == "not_countersign"
    with pytest.raises(InvalidInput):
        service.add_signers(session, principal=holder(session, accept), task_id=accept.id, person_ids=[])
    sign_case = start_case(session, city, sign_process(CLERKS, {"mode": "all"}))
    first, second = tasks(session, sign_case)
    with pytest.raises(RoutingError) as last:
        service.remove_signer(session, principal=holder(session, first), task_id=first.id,
                              person_id=first.assignee_id or holder(session, first).id)
        service.remove_signer(session, principal=holder(session, second), task_id=second.id,
                              person_id=second.assignee_id or holder(session, second).id)
    assert last.value.code in ("last_signer", "not_pending_signer")
