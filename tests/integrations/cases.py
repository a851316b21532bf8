"""Concluded and archived cases for the seal and archive tests, in a rollback session or committed."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.cases.test_flow import decide, open_tasks
from tests.factories import City, joint_approval_process, make_city, publish_matter
from xietong.cases import service
from xietong.cases.changelog import sequence_events
from xietong.db.session import unit_of_work
from xietong.documents.issue import issue_documents

# a follower's batch that reaches the end of the log however many events the worker's earlier tests left in
# it — with the default batch a case at the end of a long log is not reached and the test sees nothing
ALL = 10_000_000


def concluded_case(session: Session, city: City | None = None, *, result: str = "granted") -> tuple[City, int]:
    """A case of a fresh city run through every step and concluded, its events sequenced and documents issued."""
    city = city or make_city(session)
    local = publish_matter(session, city, joint_approval_process())
    case_id, _ = service.submit_case(session, principal=city.principal(session, "office"), local_matter_id=local.id,
                                     applicant_unit_id=city.units["office"].id, form={"title": "申请增加编制"})
    staff = city.principal(session, "staffing")
    service.accept_case(session, principal=staff, case_id=case_id)
    while tasks := open_tasks(session, case_id):
        for task in tasks:
            decide(session, city, task)
    service.conclude_case(session, principal=staff, case_id=case_id, result=result, note="同意增加编制2名")
    sequence_events(session)
    issue_documents(session, batch=ALL)
    return city, case_id


def archive(session: Session, city: City, case_id: int) -> None:
    service.archive_case(session, principal=city.principal(session, "staffing"), case_id=case_id)
    sequence_events(session)
    issue_documents(session, batch=ALL)


def committed_concluded_case(engine: Engine) -> tuple[City, int]:
    with unit_of_work(engine) as session:
        city = make_city(session)
        session.expunge_all()
    with unit_of_work(engine) as session:
        return concluded_case(session, city)


def committed(engine: Engine, step, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Run ``step(session, …)`` in a committed transaction of its own."""
    with unit_of_work(engine) as session:
        return step(session, *args, **kwargs)
