"""督办: a supervisor's order to the handling unit, its answer, send-back and close, and its deadline timer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.oversight.helpers import assert_replays, concluded_case, events, last_message, overseer, running_case
from xietong.cases import queries as case_queries
from xietong.cases.models import CaseGrant
from xietong.clock.due import due_at
from xietong.db.base import utcnow
from xietong.errors import Conflict, Forbidden, InvalidInput, NotFound
from xietong.oversight import queries
from xietong.oversight.jobs import handle_order_due
from xietong.oversight.models import OversightOrder
from xietong.oversight.service import answer_order, close_order, issue_supervision, send_back_order
from xietong.system.calendar import work_calendar
from xietong.worker.models import Timer


def _order(session: Session, order_id: int) -> OversightOrder:
    order = session.get(OversightOrder, order_id)
    assert order is not None
    session.refresh(order)
    return order


def test_a_supervisor_orders_the_handling_unit_which_answers_until_the_order_is_closed(session: Session) -> None:
    city, case_id = running_case(session)
    supervisor, now = overseer(session, city), utcnow()
    order_id = issue_supervision(
        session, principal=supervisor, case_id=case_id, content="请于期限内办结", days=3, now=now
    )
    order = _order(session, order_id)
    deadline = due_at(now, 3, work_calendar(session.connection(), "Asia/Shanghai"))
    assert (order.kind, order.state, order.unit_id, order.deadline_at) == (
        "supervision", "open", city.units["staffing"].id, deadline)
    timer = session.scalars(select(Timer).where(Timer.case_id == case_id, Timer.kind == "supervision_due")).one()
    assert timer.fire_at == deadline and timer.payload == {"order_id": order_id}
    grant = session.scalars(select(CaseGrant).where(CaseGrant.case_id == case_id, CaseGrant.kind == "supervise")).one()
    assert grant.person_id == supervisor.id
    message = last_message(session, "case.supervision_ordered", case_id)
    assert city.person("staffing", "head").id in message.payload["person_ids"]

    handler = city.principal(session, "staffing", "section_chief")
    answer_order(session, principal=handler, order_id=order_id, answer="已加快审查")
    with pytest.raises(InvalidInput) as no_reason:
        send_back_order(session, principal=supervisor, order_id=order_id, reason=" ")
    assert no_reason.value.code == "reason_required"
    send_back_order(session, principal=supervisor, order_id=order_id, reason="请说明具体完成时间")
    order = _order(session, order_id)
    assert (order.state, order.sent_back, order.overdue) == ("open", 1, False)
    answer_order(session, principal=handler, order_id=order_id, answer="将于本周五前办结")
    close_order(session, principal=supervisor, order_id=order_id)
    order = _order(session, order_id)
    assert (order.state, order.answer, order.closed_by_id) == ("closed", "将于本周五前办结", supervisor.id)
    assert [e.type for e in events(session, case_id)][-5:] == [
        "case.supervision_ordered", "case.supervision_answered", "case.supervision_sent_back",
        "case.supervision_answered", "case.supervision_closed",
    ]
    assert [o.id for o in queries.orders(session, principal=supervisor, mine="issued").items] == [order_id]
    assert [o.id for o in queries.orders(session, principal=handler, mine="addressed", state="closed").items] == [
        order_id]
    assert queries.orders(session, principal=handler, mine="addressed", state="open").items == []
    assert_replays(session, case_id)


def test_an_order_on_a_fixed_date_and_the_deadline_timer(session: Session) -> None:
    city, case_id = running_case(session)
    supervisor, now = overseer(session, city, role="reform_office", scope="all"), utcnow()
    calendar = work_calendar(session.connection(), "Asia/Shanghai")
    tomorrow = calendar.local_date(now) + timedelta(days=1)
    order_id = issue_supervision(session, principal=supervisor, case_id=case_id, content="督办", deadline=tomorrow)
    assert _order(session, order_id).deadline_at == calendar.end_of_day(tomorrow)
    timer = session.scalars(select(Timer).where(Timer.case_id == case_id, Timer.kind == "supervision_due")).one()
    assert handle_order_due(session, timer) is True
    assert _order(session, order_id).overdue and events(session, case_id)[-1].type == "case.supervision_overdue"
    assert events(session, case_id)[-1].actor_kind == "system"
    assert handle_order_due(session, timer) is False  # fired twice: nothing more happens
    overdue = queries.orders(session, principal=city.principal(session, "staffing"), mine="addressed", state="overdue")
    assert [o.id for o in overdue.items] == [order_id]
    assert_replays(session, case_id)


def test_an_answered_order_is_not_overdue_and_a_late_send_back_is(session: Session) -> None:
    city, case_id = running_case(session)
    supervisor = overseer(session, city)
    order_id = issue_supervision(session, principal=supervisor, case_id=case_id, content="督办", days=1)
    answer_order(session, principal=city.principal(session, "staffing"), order_id=order_id, answer="已办")
    timer = session.scalars(select(Timer).where(Timer.case_id == case_id, Timer.kind == "supervision_due")).one()
    before = len(events(session, case_id))
    assert handle_order_due(session, timer) is False and len(events(session, case_id)) == before
    send_back_order(session, principal=supervisor, order_id=order_id, reason="不具体", now=utcnow() + timedelta(days=9))
    assert _order(session, order_id).overdue


def test_the_supervisor_reads_the_case_through_the_order(session: Session) -> None:
    city, case_id = running_case(session)
    supervisor = overseer(session, city)
    issue_supervision(session, principal=supervisor, case_id=case_id, content="督办", days=2)
    assert case_queries.case_detail(session, principal=supervisor, case_id=case_id).case.id == case_id
    assert len(queries.case_orders(session, principal=city.principal(session, "office"), case_id=case_id)) == 1


def test_refusals_change_nothing(session: Session) -> None:
    city, case_id = running_case(session)
    supervisor = overseer(session, city)
    for principal in (city.principal(session, "staffing"), city.principal(session, "office"),
                      overseer(session, city, role="unit_leader")):
        with pytest.raises(Forbidden):
            issue_supervision(session, principal=principal, case_id=case_id, content="督办", days=2)
    for kwargs, code in (({}, "deadline_required"), ({"days": 2, "deadline": utcnow().date()}, "deadline_required"),
                         ({"days": 0}, "bad_deadline"), ({"days": 61}, "bad_deadline"),
                         ({"deadline": utcnow().date() - timedelta(days=2)}, "bad_deadline")):
        with pytest.raises(InvalidInput) as invalid:
            issue_supervision(session, principal=supervisor, case_id=case_id, content="督办", **kwargs)
        assert invalid.value.code == code
    with pytest.raises(InvalidInput) as empty:
        issue_supervision(session, principal=supervisor, case_id=case_id, content="  ", days=2)
    assert empty.value.code == "content_required"
    assert session.scalars(select(OversightOrder).where(OversightOrder.case_id == case_id)).all() == []
    assert [e.type for e in events(session, case_id)] == ["case.submitted", "case.accepted"]

    order_id = issue_supervision(session, principal=supervisor, case_id=case_id, content="督办", days=2)
    with pytest.raises(NotFound) as hidden:  # a unit with no part in the case: the order is missing to it
        answer_order(session, principal=city.principal(session, "finance"), order_id=order_id, answer="已办")
    assert hidden.value.code == "order_not_found"
    with pytest.raises(Conflict) as early:
        close_order(session, principal=supervisor, order_id=order_id)
    assert early.value.code == "wrong_order_state"
    answer_order(session, principal=city.principal(session, "staffing"), order_id=order_id, answer="已办")
    with pytest.raises(Conflict):
        answer_order(session, principal=city.principal(session, "staffing"), order_id=order_id, answer="再答")
    with pytest.raises(Forbidden):
        close_order(session, principal=city.principal(session, "staffing"), order_id=order_id)


def test_a_concluded_case_takes_no_supervision(session: Session) -> None:
    city, case_id = concluded_case(session)
    with pytest.raises(Conflict) as refused:
        issue_supervision(session, principal=overseer(session, city), case_id=case_id, content="督办", days=2)
    assert refused.value.code == "wrong_case_status"
