"""§32 warning: a durable timer armed by the documents worker tells the handling unit one working day before the
一次性补正告知 window closes (holidays counted out), and says that a late notice means the case counts as accepted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import City, joint_approval_process, make_city, publish_matter
from xietong.cases import service
from xietong.cases.changelog import sequence_events
from xietong.cases.models import Notification
from xietong.directory.models import Membership
from xietong.documents.issue import issue_documents, supplement_notice_due
from xietong.documents.warning import SUPPLEMENT_WARNING
from xietong.system.calendar import forget_calendars
from xietong.system.models import WorkdayOverride
from xietong.worker.models import Timer
from xietong.worker.timers import fire_timers

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2030, 3, 4, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def city(session: Session) -> City:
    return make_city(session)


@pytest.fixture
def holidays(session: Session) -> Iterator[None]:
    """Wednesday and Thursday of that week are days off (the calendar cache must not keep them after the test)."""
    session.add_all(WorkdayOverride(day=date(2030, 3, d), is_working=False, note="测试假日") for d in (6, 7))
    session.flush()
    forget_calendars()
    yield
    forget_calendars()


def _submitted(session: Session, city: City) -> int:
    local = publish_matter(session, city, joint_approval_process())
    case_id, _ = service.submit_case(session, principal=city.principal(session, "office"), local_matter_id=local.id,
                                     applicant_unit_id=city.units["office"].id, form={"title": "申请增加编制"},
                                     now=MONDAY)
    sequence_events(session)
    issue_documents(session)
    return case_id


def _timer(session: Session, case_id: int) -> Timer:
    return session.scalars(select(Timer).where(Timer.case_id == case_id, Timer.kind == SUPPLEMENT_WARNING)).one()


def _warnings(session: Session, case_id: int) -> list[Notification]:
    return list(session.scalars(select(Notification).where(
        Notification.case_id == case_id, Notification.kind == SUPPLEMENT_WARNING).order_by(Notification.person_id)))


def test_the_handling_unit_is_warned_a_working_day_before_the_window_closes(
        session: Session, city: City, holidays: None) -> None:
    case_id = _submitted(session, city)
    due = supplement_notice_due(MONDAY, session, "Asia/Shanghai").astimezone(SHANGHAI)
    timer = _timer(session, case_id)
    fire_at = timer.fire_at.replace(tzinfo=UTC) if timer.fire_at.tzinfo is None else timer.fire_at
    # Tue 5, (Wed 6, Thu 7 off), Fri 8, Mon 11, Tue 12, Wed 13: the window closes at the end of Wed 13 (without
    # the days off, at the end of Mon 11); the warning comes when Tue 12 ends, leaving the whole last day.
    assert due == datetime(2030, 3, 14, tzinfo=SHANGHAI)
    assert fire_at.astimezone(SHANGHAI) == datetime(2030, 3, 13, tzinfo=SHANGHAI)
    assert timer.state == "pending"

    fire_timers(session, now=fire_at - timedelta(hours=1))
    assert _warnings(session, case_id) == []  # not yet

    fire_timers(session, now=fire_at + timedelta(minutes=1))
    session.refresh(timer)
    warned = _warnings(session, case_id)
    members = set(session.scalars(select(Membership.person_id).where(
        Membership.unit_id == city.units["staffing"].id)))
    assert timer.state == "done" and {n.person_id for n in warned} == members and members
    assert "须于 2030-03-13 当日内一次性告知" in warned[0].title and "即为受理" in warned[0].title

    fire_timers(session, now=fire_at + timedelta(days=1))
    assert len(_warnings(session, case_id)) == len(warned)  # once only


def test_a_case_accepted_in_time_gets_no_warning(session: Session, city: City, holidays: None) -> None:
    case_id = _submitted(session, city)
    service.accept_case(session, principal=city.principal(session, "staffing"), case_id=case_id,
                        now=MONDAY + timedelta(hours=1))
    timer = _timer(session, case_id)
    fire_timers(session, now=MONDAY + timedelta(days=14))
    session.refresh(timer)
    assert timer.state == "done" and _warnings(session, case_id) == []


def test_once_the_one_notice_was_given_neither_window_nor_warning_applies(session: Session, city: City) -> None:
    """§32 allows one 一次性补正告知: after it and the resubmission the case waits for acceptance again, with its
    first submission time, but the window is spent — no deadline on the case, no warning when the timer fires."""
    from xietong.documents.service import supplement_window, supplement_windows

    case_id = _submitted(session, city)
    handler, applicant = city.principal(session, "staffing"), city.principal(session, "office")
    window = supplement_window(session, principal=handler, case_id=case_id, now=MONDAY)
    assert window is not None and not window.passed and window.days_left == 5  # Tue 5 … Mon 11
    items = [{"field": "title", "note": "请写明增加编制的理由"}]
    service.request_supplement(session, principal=handler, case_id=case_id, items=items,
                               now=MONDAY + timedelta(hours=1))
    service.resubmit_case(session, principal=applicant, case_id=case_id, form={"title": "申请增加编制（补正）"},
                          now=MONDAY + timedelta(hours=2))
    assert service_status(session, case_id) == "submitted"
    assert supplement_window(session, principal=handler, case_id=case_id, now=MONDAY) is None
    assert supplement_windows(session, cases=[(case_id, MONDAY)], now=MONDAY) == {}
    timer = _timer(session, case_id)
    fire_at = timer.fire_at.replace(tzinfo=UTC) if timer.fire_at.tzinfo is None else timer.fire_at
    fire_timers(session, now=fire_at + timedelta(minutes=1))
    assert _warnings(session, case_id) == []
    session.refresh(timer)
    assert timer.state == "done"


def service_status(session: Session, case_id: int) -> str:
    from xietong.cases.models import Case

    case = session.get(Case, case_id)
    assert case is not None
    session.refresh(case)
    return case.status
