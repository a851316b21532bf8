"""评价 and 整改: the applicant rates a concluded case once; a bad rating opens a rectification order."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.oversight.helpers import assert_replays, concluded_case, events, overseer, running_case
from xietong.cases import service
from xietong.clock.due import due_at
from xietong.db.base import utcnow
from xietong.errors import Conflict, Forbidden, InvalidInput
from xietong.oversight import queries
from xietong.oversight.models import OversightOrder, Rating
from xietong.oversight.service import answer_order, close_order, rate_case
from xietong.system.calendar import work_calendar
from xietong.worker.models import Timer


def test_a_good_rating_is_recorded_once(session: Session) -> None:
    city, case_id = concluded_case(session)
    applicant = city.principal(session, "office")
    rated = rate_case(session, principal=applicant, case_id=case_id, level="very_satisfied")
    assert rated.rectification_id is None
    rating = queries.case_rating(session, principal=city.principal(session, "staffing"), case_id=case_id)
    assert (rating.level, rating.level_label, rating.comment) == ("very_satisfied", "非常满意", "")
    event = events(session, case_id)[-1]
    assert event.type == "case.rated" and event.delta["oversight"]["rating"]["level"] == "very_satisfied"
    with pytest.raises(Conflict) as again:
        rate_case(session, principal=city.principal(session, "office", "head"), case_id=case_id, level="satisfied")
    assert again.value.code == "already_rated"
    assert session.scalars(select(Rating).where(Rating.case_id == case_id)).all() != []
    assert_replays(session, case_id)


def test_an_archived_case_can_be_rated(session: Session) -> None:
    city, case_id = concluded_case(session)
    service.archive_case(session, principal=city.principal(session, "staffing"), case_id=case_id)
    rate_case(session, principal=city.principal(session, "office"), case_id=case_id, level="basically_satisfied")
    assert_replays(session, case_id)


def test_a_bad_rating_opens_a_rectification_that_the_unit_answers_and_the_reform_office_closes(
    session: Session,
) -> None:
    city, case_id = concluded_case(session)
    applicant, now = city.principal(session, "office"), utcnow()
    with pytest.raises(InvalidInput) as no_comment:
        rate_case(session, principal=applicant, case_id=case_id, level="dissatisfied")
    assert no_comment.value.code == "comment_required"
    rated = rate_case(session, principal=applicant, case_id=case_id, level="very_dissatisfied",
                      comment="材料被要求反复提交", now=now)
    assert rated.rectification_id is not None
    order = session.get(OversightOrder, rated.rectification_id)
    assert order is not None and (order.kind, order.state, order.unit_id, order.issued_by_id) == (
        "rectification", "open", city.units["staffing"].id, None)
    assert order.deadline_at == due_at(now, 5, work_calendar(session.connection(), "Asia/Shanghai"))
    assert "材料被要求反复提交" in order.content
    timer = session.scalars(select(Timer).where(Timer.case_id == case_id, Timer.kind == "rectification_due")).one()
    assert timer.payload == {"order_id": order.id}
    handler = city.principal(session, "staffing", "head")
    addressed = queries.orders(session, principal=handler, mine="addressed", kind="rectification")
    assert [o.id for o in addressed.items] == [order.id]
    answer_order(session, principal=handler, order_id=order.id, answer="已优化材料清单")
    with pytest.raises(Forbidden):  # the applicant does not close its own complaint
        close_order(session, principal=applicant, order_id=order.id)
    close_order(session, principal=overseer(session, city, role="reform_office"), order_id=order.id)
    session.refresh(order)
    assert order.state == "closed"
    assert [e.type for e in events(session, case_id)][-3:] == [
        "case.rated", "case.rectification_answered", "case.rectification_closed"]
    assert_replays(session, case_id)


def test_who_rates_what_and_when(session: Session) -> None:
    city, case_id = running_case(session)
    applicant = city.principal(session, "office")
    with pytest.raises(Conflict) as running:
        rate_case(session, principal=applicant, case_id=case_id, level="satisfied")
    assert running.value.code == "wrong_case_status"
    city, case_id = concluded_case(session)
    for principal in (city.principal(session, "staffing"), overseer(session, city)):
        with pytest.raises(Forbidden):
            rate_case(session, principal=principal, case_id=case_id, level="satisfied")
    for level, comment, code in (("great", "", "bad_level"), ("satisfied", "好" * 1001, "comment_too_long")):
        with pytest.raises(InvalidInput) as invalid:
            rate_case(session, principal=city.principal(session, "office"), case_id=case_id, level=level,
                      comment=comment)
        assert invalid.value.code == code
    assert session.scalars(select(Rating).where(Rating.case_id == case_id)).all() == []
    assert events(session, case_id)[-1].type == "case.concluded"
