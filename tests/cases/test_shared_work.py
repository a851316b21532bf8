"""A post's shared to-do (签收 and 退回签收) and batch approval (批量审批) of similar tasks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.test_flow import open_tasks, submit_and_accept
from tests.cases.test_replay import assert_replays
from tests.factories import City, joint_approval_process, make_city, publish_matter
from xietong.cases import queries, service
from xietong.cases.models import Event
from xietong.cases.service.batch import complete_tasks
from xietong.engine.models import Task
from xietong.errors import Conflict, Forbidden, InvalidInput


def refreshed(session: Session, task_id: int) -> Task:
    task = session.get(Task, task_id)
    assert task is not None
    session.refresh(task)
    return task


def test_a_claimed_shared_task_can_be_given_back_to_its_post(session: Session) -> None:
    city = make_city(session, holders=2)
    case_id = submit_and_accept(session, city, publish_matter(session, city, joint_approval_process()).id)
    [task] = open_tasks(session, case_id)
    first, second = city.principal(session, "staffing", n=0), city.principal(session, "staffing", n=1)
    assert task.assignee_id is None  # shared by the post's two holders

    service.claim_task(session, principal=first, task_id=task.id)
    session.expire_all()  # the reads below use the ORM; a request would start with a fresh session
    assert "release" in queries.case_detail(session, principal=first, case_id=case_id).task_actions[task.id]
    with pytest.raises(Forbidden):  # only the claimer gives it back
        service.release_task(session, principal=second, task_id=task.id)
    service.release_task(session, principal=first, task_id=task.id)
    task = refreshed(session, task.id)
    assert (task.assignee_id, task.claimed_at) == (None, None)
    assert task.id in [t.id for t in queries.todo(session, principal=second).items]

    service.claim_task(session, principal=second, task_id=task.id)
    assert refreshed(session, task.id).assignee_id == second.id
    types = session.scalars(select(Event.type).where(Event.case_id == case_id).order_by(Event.seq)).all()
    assert types[-3:] == ["task.claimed", "task.released", "task.claimed"]
    assert_replays(session, case_id)


def test_a_task_assigned_to_a_person_is_not_released(session: Session) -> None:
    city = make_city(session, holders=2)
    case_id = submit_and_accept(session, city, publish_matter(session, city, joint_approval_process()).id)
    [task] = open_tasks(session, case_id)
    first = city.principal(session, "staffing", n=0)
    colleague = city.person("staffing", "clerk", 1)
    moved = service.transfer_task(session, principal=first, task_id=task.id, to_person_id=colleague.id)
    with pytest.raises(Conflict) as refused:
        service.release_task(session, principal=city.principal(session, "staffing", n=1), task_id=moved)
    assert refused.value.code == "not_claimed"
    assert refreshed(session, moved).assignee_id == colleague.id


@contextmanager
def savepoint(session: Session) -> Iterator[Session]:
    """Each batch item in a transaction of its own (a savepoint of the test's rolled-back transaction)."""
    with session.begin_nested():
        yield session


def accepted_cases(session: Session, city: City, n: int, local_id: int) -> list[int]:
    return [submit_and_accept(session, city, local_id) for _ in range(n)]


def test_batch_approval_decides_each_task_on_its_own_and_reports_each_failure(session: Session) -> None:
    city = make_city(session, holders=1)
    local = publish_matter(session, city, joint_approval_process())
    case_ids = accepted_cases(session, city, 3, local.id)
    task_ids = [open_tasks(session, c)[0].id for c in case_ids]
    clerk = city.principal(session, "staffing")
    service.complete_task(session, principal=clerk, task_id=task_ids[1], approved=True)  # decided meanwhile

    outcomes = complete_tasks(lambda: savepoint(session), principal=clerk, task_ids=task_ids, approved=True,
                              opinion="同意，按程序办理")
    assert [(o.task_id, o.ok, o.code) for o in outcomes] == [
        (task_ids[0], True, None), (task_ids[1], False, "task_closed"), (task_ids[2], True, None)
    ]
    assert all(len(o.new_task_ids) == 3 for o in outcomes if o.ok)  # the three reviews opened each time
    assert outcomes[1].detail and "已经办理" in outcomes[1].detail
    for case_id, task_id in zip(case_ids, task_ids, strict=True):
        task = refreshed(session, task_id)
        assert task.state == "completed"
        assert task.opinion == ("同意，按程序办理" if task_id != task_ids[1] else None)
        completed = session.scalars(select(Event).where(Event.case_id == case_id, Event.type == "task.completed"))
        assert len(completed.all()) == 1  # its own event, once
        assert_replays(session, case_id)


def test_a_batch_of_dissimilar_tasks_is_refused_whole(session: Session) -> None:
    city = make_city(session, holders=1)
    first = publish_matter(session, city, joint_approval_process())
    other = publish_matter(session, city, joint_approval_process())
    tasks = [open_tasks(session, c)[0].id for c in (*accepted_cases(session, city, 1, first.id),
                                                     *accepted_cases(session, city, 1, other.id))]
    clerk = city.principal(session, "staffing")
    for ids, code in ((tasks, "batch_not_similar"), ([], "batch_empty"), ([tasks[0], tasks[0]], "batch_duplicates"),
                      ([tasks[0], 10**9], "task_not_found")):
        with pytest.raises(InvalidInput) as refused:
            complete_tasks(lambda: savepoint(session), principal=clerk, task_ids=ids, approved=True, opinion="同意")
        assert refused.value.code == code
    assert all(refreshed(session, t).state == "open" for t in tasks)


def test_a_delegated_task_is_worked_on_by_the_colleague_and_decided_by_its_holder(session: Session) -> None:
    city = make_city(session, holders=2)
    case_id = submit_and_accept(session, city, publish_matter(session, city, joint_approval_process()).id)
    [task] = open_tasks(session, case_id)
    holder, colleague = city.principal(session, "staffing", n=0), city.principal(session, "staffing", n=1)
    with pytest.raises(Forbidden):  # a shared task is claimed first
        service.delegate_task(session, principal=holder, task_id=task.id, to_person_id=colleague.id)
    service.claim_task(session, principal=holder, task_id=task.id)
    with pytest.raises(Conflict):  # only to a colleague of the task's unit
        service.delegate_task(session, principal=holder, task_id=task.id,
                              to_person_id=city.person("finance", "clerk").id)
    service.delegate_task(session, principal=holder, task_id=task.id, to_person_id=colleague.id, note="请先审核材料")
    session.expire_all()
    assert task.id in [t.id for t in queries.todo(session, principal=colleague).items]
    assert queries.case_detail(session, principal=colleague, case_id=case_id).task_actions == {task.id: ["hand_back"]}
    assert queries.case_detail(session, principal=holder, case_id=case_id).task_actions == {task.id: ["recall"]}
    for act in (lambda: service.complete_task(session, principal=holder, task_id=task.id, approved=True),
                lambda: service.release_task(session, principal=holder, task_id=task.id)):
        with pytest.raises(Conflict) as lent:
            act()
        assert lent.value.code == "task_delegated"
    with pytest.raises(Forbidden):  # the colleague works on it but the decision stays the holder's
        service.complete_task(session, principal=colleague, task_id=task.id, approved=True)

    service.hand_back_task(session, principal=colleague, task_id=task.id, opinion="材料齐全，建议同意")
    assert refreshed(session, task.id).delegate_id is None
    service.complete_task(session, principal=holder, task_id=task.id, approved=True, opinion="同意")
    types = session.scalars(select(Event.type).where(Event.case_id == case_id).order_by(Event.seq)).all()
    assert types[-3:] == ["task.delegated", "task.handed_back", "task.completed"]
    assert_replays(session, case_id)


def test_the_holder_can_recall_a_delegation(session: Session) -> None:
    city = make_city(session, holders=2)
    case_id = submit_and_accept(session, city, publish_matter(session, city, joint_approval_process()).id)
    [task] = open_tasks(session, case_id)
    holder, colleague = city.principal(session, "staffing", n=0), city.principal(session, "staffing", n=1)
    service.claim_task(session, principal=holder, task_id=task.id)
    service.delegate_task(session, principal=holder, task_id=task.id, to_person_id=colleague.id)
    service.hand_back_task(session, principal=holder, task_id=task.id)
    with pytest.raises(Conflict):
        service.hand_back_task(session, principal=colleague, task_id=task.id)
    types = session.scalars(select(Event.type).where(Event.case_id == case_id).order_by(Event.seq)).all()
    assert types[-1] == "task.delegation_recalled"
    assert_replays(session, case_id)
