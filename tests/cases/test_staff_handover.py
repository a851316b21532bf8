"""人员交接: an administrator hands a leaving person's open work to a successor, after a preview."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.test_flow import open_tasks
from tests.oversight.helpers import assert_replays, overseer, running_case
from xietong.cases import service
from xietong.cases.service.staff import hand_over, handover_plan
from xietong.db.base import utcnow
from xietong.directory.models import Delegation
from xietong.engine.models import Task
from xietong.errors import Forbidden, InvalidInput
from xietong.oversight.models import OversightOrder
from xietong.oversight.service.orders import issue_supervision


def test_a_preview_then_one_operation_moves_what_the_successor_can_take(session: Session) -> None:
    city, case_id = running_case(session)
    leaving = city.principal(session, "staffing", n=0)
    successor = city.person("staffing", "clerk", 1)
    [task] = open_tasks(session, case_id)
    service.claim_task(session, principal=leaving, task_id=task.id)  # now the leaving person's own task
    leader = city.person("staffing", "leader_in_charge")
    session.add(Delegation(from_person_id=leader.id, to_person_id=leaving.id, starts_at=utcnow(),
                           ends_at=utcnow() + timedelta(days=30), reason="出差"))
    supervisor_leaving, supervisor_next = overseer(session, city), overseer(session, city)
    order_id = issue_supervision(session, principal=supervisor_leaving, case_id=case_id, content="请加快办理",
                                 days=3)
    admin = overseer(session, city, role="system_admin")

    plan = handover_plan(session, principal=admin, from_person_id=leaving.id, to_person_id=successor.id)
    assert [(i.kind, i.moves) for i in plan] == [("task", True), ("delegation", True)]
    assert plan[0].label.endswith(task.name)

    log = hand_over(session, principal=admin, from_person_id=leaving.id, to_person_id=successor.id, note="调离")
    assert [(i.kind, i.moves) for i in log] == [("task", True), ("delegation", True)]
    new_task = session.get(Task, log[0].new_id)
    assert new_task is not None and (new_task.assignee_id, new_task.node_id, new_task.state) == (
        successor.id, task.node_id, "open")
    session.refresh(task)
    assert task.state == "transferred" and task.opinion == "调离"
    delegation = session.scalars(select(Delegation).where(Delegation.from_person_id == leader.id)).one()
    assert delegation.to_person_id == successor.id
    assert handover_plan(session, principal=admin, from_person_id=leaving.id, to_person_id=successor.id) == []
    assert_replays(session, case_id)

    orders = hand_over(session, principal=admin, from_person_id=supervisor_leaving.id,
                       to_person_id=supervisor_next.id)
    assert [(i.kind, i.id, i.moves) for i in orders] == [("order", order_id, True)]
    order = session.get(OversightOrder, order_id)
    assert order is not None
    session.refresh(order)
    assert order.issued_by_id == supervisor_next.id
    assert_replays(session, case_id)


def test_what_the_successor_cannot_take_stays_and_says_why(session: Session) -> None:
    city, case_id = running_case(session)
    leaving = city.principal(session, "staffing", n=0)
    [task] = open_tasks(session, case_id)
    service.claim_task(session, principal=leaving, task_id=task.id)
    elsewhere = city.person("finance", "clerk")  # not a member of the 编办
    admin = overseer(session, city, role="system_admin")

    log = hand_over(session, principal=admin, from_person_id=leaving.id, to_person_id=elsewhere.id)
    assert [(i.kind, i.moves) for i in log] == [("task", False)]
    assert log[0].reason and "接手人不是" in log[0].reason
    session.refresh(task)
    assert (task.state, task.assignee_id) == ("open", leaving.id)


def test_who_may_hand_over(session: Session) -> None:
    city, _case_id = running_case(session)
    leaving, successor = city.person("staffing", "clerk", 0), city.person("staffing", "clerk", 1)
    with pytest.raises(Forbidden):  # a supervisor is not the directory's administrator
        handover_plan(session, principal=overseer(session, city), from_person_id=leaving.id,
                      to_person_id=successor.id)
    admin = overseer(session, city, role="system_admin")
    with pytest.raises(InvalidInput):
        handover_plan(session, principal=admin, from_person_id=leaving.id, to_person_id=leaving.id)
