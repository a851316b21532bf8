"""Working days used are recorded for statistics: per step when a person closes it, per case at 办结."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from tests.cases.test_replay import assert_replays
from tests.cases.test_returns import holder
from tests.engine.test_nodes__multi import case_of, tasks
from tests.factories import linear_process, make_city, post_rule, publish_matter
from xietong.cases import service

MONDAY = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai; no holiday that week
THURSDAY = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)
FRIDAY = datetime(2026, 3, 6, 2, 0, tzinfo=UTC)


def test_steps_and_the_case_record_their_working_days(session: Session) -> None:
    city = make_city(session)
    process = linear_process(("review", post_rule("finance")), ("sign", post_rule("hr_social")))
    local = publish_matter(session, city, process)
    case_id, _ = service.submit_case(
        session, principal=city.principal(session, "office"), local_matter_id=local.id,
        applicant_unit_id=city.units["office"].id, form={"title": "工作日统计"}, now=MONDAY,
    )
    service.accept_case(session, principal=city.principal(session, "staffing"), case_id=case_id, now=MONDAY)
    [review] = tasks(session, case_id)
    service.complete_task(session, principal=holder(session, review), task_id=review.id, approved=True, now=THURSDAY)
    [sign] = tasks(session, case_id)
    service.complete_task(session, principal=holder(session, sign), task_id=sign.id, approved=True, now=FRIDAY)
    service.conclude_case(session, principal=city.principal(session, "staffing"), case_id=case_id, result="granted",
                          now=FRIDAY)
    days = {t.id: t.working_days for t in tasks(session, case_id, None)}
    assert days == {review.id: 3, sign.id: 1}  # Tue, Wed, Thu after the Monday it opened; Fri after Thu
    assert case_of(session, case_id).working_days_used == 4
    assert_replays(session, case_id)
