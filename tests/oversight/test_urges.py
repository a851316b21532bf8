"""催办: who may urge, when, what it records and whom it notifies — and the refusals that change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.test_flow import open_tasks
from tests.factories import joint_approval_process, make_city, publish_matter
from tests.oversight.helpers import assert_replays, events, last_message, overseer, running_case
from xietong.cases import service
from xietong.cases.models import Notification
from xietong.db.base import utcnow
from xietong.errors import Conflict, Forbidden, InvalidInput, NotFound
from xietong.oversight import queries
from xietong.oversight.jobs import deliver_notice
from xietong.oversight.models import Urge, UrgeTask
from xietong.oversight.service import urge_case


def test_the_applicant_urges_the_holders_of_the_open_task(session: Session) -> None:
    city, case_id = running_case(session)
    [task] = open_tasks(session, case_id)
    applicant = city.principal(session, "office")
    urge_id = urge_case(session, principal=applicant, case_id=case_id, note="请尽快办理")
    urge = session.get(Urge, urge_id)
    assert (urge.case_id, urge.by_id, urge.note) == (case_id, applicant.id, "请尽快办理")
    assert list(session.scalars(select(UrgeTask.task_id).where(UrgeTask.urge_id == urge_id))) == [task.id]
    event = events(session, case_id)[-1]
    assert event.type == "case.urged" and event.actor_id == applicant.id
    assert event.delta["oversight"]["urge"]["task_ids"] == [task.id]
    clerks = sorted(city.person("staffing", "clerk", n).id for n in (0, 1))  # the shared task's post holders
    message = last_message(session, "case.urged", case_id)
    assert message.payload["person_ids"] == clerks and message.state == "pending"
    assert deliver_notice(session, message) == 2
    notified = session.scalars(select(Notification).where(Notification.case_id == case_id)).all()
    assert sorted(n.person_id for n in notified) == clerks and {n.kind for n in notified} == {"urge"}
    counts = queries.urge_counts(session, principal=applicant, case_id=case_id)
    assert (counts.total, counts.by_task) == (1, {task.id: 1})
    assert_replays(session, case_id)


def test_a_colleague_of_the_applicant_unit_and_a_supervisor_may_urge(session: Session) -> None:
    city, case_id = running_case(session)
    now = utcnow()
    urge_case(session, principal=city.principal(session, "office", "section_chief"), case_id=case_id, now=now)
    urge_case(session, principal=overseer(session, city), case_id=case_id, now=now)
    counts = queries.urge_counts(session, principal=city.principal(session, "office"), case_id=case_id)
    assert counts.total == 2 and list(counts.by_task.values()) == [2]


def test_one_person_urges_a_case_once_per_interval(session: Session) -> None:
    city, case_id = running_case(session)
    applicant, now = city.principal(session, "office"), utcnow()
    urge_case(session, principal=applicant, case_id=case_id, now=now)
    before = len(events(session, case_id))
    with pytest.raises(Conflict) as refused:
        urge_case(session, principal=applicant, case_id=case_id, now=now + timedelta(minutes=59))
    assert refused.value.code == "urged_recently" and "分钟后再催" in refused.value.detail
    assert len(events(session, case_id)) == before
    urge_case(session, principal=applicant, case_id=case_id, now=now + timedelta(minutes=61))
    urge_case(session, principal=applicant, case_id=case_id, now=now + timedelta(minutes=62), min_interval=timedelta())
    assert session.query(Urge).filter_by(case_id=case_id).count() == 3


def test_handlers_and_strangers_may_not_urge(session: Session) -> None:
    city, case_id = running_case(session)
    stranger = make_city(session).principal(session, "office")
    with pytest.raises(Forbidden) as refused:  # the handling unit reads the case but does not urge itself
        urge_case(session, principal=city.principal(session, "staffing"), case_id=case_id)
    assert refused.value.code == "not_allowed"
    for principal in (stranger, city.principal(session, "finance")):  # no part in the case: it does not exist
        with pytest.raises(NotFound) as hidden:
            urge_case(session, principal=principal, case_id=case_id)
        assert hidden.value.code == "case_not_found"
    unit_leader = overseer(session, city, role="unit_leader")  # reads the region's cases, gives no orders
    with pytest.raises(Forbidden):
        urge_case(session, principal=unit_leader, case_id=case_id)
    assert session.query(Urge).filter_by(case_id=case_id).count() == 0


def test_only_an_accepted_running_case_can_be_urged(session: Session) -> None:
    city = make_city(session)
    local = publish_matter(session, city, joint_approval_process())
    applicant = city.principal(session, "office")
    case_id, _ = service.submit_case(session, principal=applicant, local_matter_id=local.id,
                                     applicant_unit_id=city.units["office"].id, form={"title": "申请"})
    with pytest.raises(Conflict) as refused:
        urge_case(session, principal=applicant, case_id=case_id)
    assert refused.value.code == "wrong_case_status" and refused.value.extra == {"status": "submitted"}
    with pytest.raises(InvalidInput) as too_long:
        urge_case(session, principal=applicant, case_id=case_id, note="快" * 501)
    assert too_long.value.code == "note_too_long"
    assert [e.type for e in events(session, case_id)] == ["case.submitted"]


def test_the_worker_delivers_an_urge_as_notifications(session: Session) -> None:
    from xietong.db.base import utcnow
    from xietong.worker import loop  # noqa: F401  (the worker registers every domain's handlers)
    from xietong.worker.outbox import deliver_outbox

    city, case_id = running_case(session)
    urge_case(session, principal=city.principal(session, "office"), case_id=case_id, note="请尽快")
    deliver_outbox(session, now=utcnow() + timedelta(seconds=1))
    message = last_message(session, "case.urged", case_id)
    session.refresh(message)
    assert message.state == "done", (message.attempts, message.last_error, message.available_at)
    kinds = session.scalars(select(Notification.kind).where(Notification.case_id == case_id)).all()
    assert kinds.count("urge") == 2
