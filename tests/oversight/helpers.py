"""Cases for oversight tests, built through the real case operations, and a supervisor to oversee them."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.cases.test_flow import decide, open_tasks, submit_and_accept
from tests.factories import City, joint_approval_process, make_city, publish_matter
from xietong.cases import service
from xietong.cases.models import Event
from xietong.cases.replay import load_events, replay_case, state_differences, stored_state, verify_chain
from xietong.directory.models import Person
from xietong.security.models import RoleGrant
from xietong.security.principal import Principal, load_principal
from xietong.worker.models import OutboxMessage


def running_case(session: Session) -> tuple[City, int]:
    """A city and one of its cases, accepted: its first task (受理审查) is shared by the 编办's clerks."""
    city = make_city(session)
    local = publish_matter(session, city, joint_approval_process())
    return city, submit_and_accept(session, city, local.id)


def concluded_case(session: Session) -> tuple[City, int]:
    """A case through every step of the joint approval, concluded 准予."""
    city, case_id = running_case(session)
    while tasks := open_tasks(session, case_id):
        for task in tasks:
            decide(session, city, task)
    service.conclude_case(session, principal=city.principal(session, "staffing"), case_id=case_id, result="granted")
    return city, case_id


def overseer(session: Session, city: City, role: str = "supervisor", scope: str = "region") -> Principal:
    """A person outside every unit with ``role`` over the city's region (or everything)."""
    n = session.scalar(select(func.count()).select_from(Person))
    person = Person(employee_code=f"SUP{n}", username=f"sup{n}", name=f"督查员{n}")
    session.add(person)
    session.flush()
    region = city.region.id if scope == "region" else None
    session.add(RoleGrant(person_id=person.id, role=role, scope_kind=scope, scope_region_id=region))
    session.flush()
    return load_principal(session, person.id)


def events(session: Session, case_id: int) -> list[Event]:
    return list(session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.seq)))


def last_message(session: Session, topic: str, case_id: int) -> OutboxMessage:
    return session.scalars(
        select(OutboxMessage).where(OutboxMessage.topic == topic, OutboxMessage.key == str(case_id))
        .order_by(OutboxMessage.id.desc())
    ).first()  # type: ignore[return-value]


def assert_replays(session: Session, case_id: int) -> None:
    """The case's events still fold into exactly the stored state, and the chain holds."""
    assert state_differences(replay_case(session, case_id), stored_state(session, case_id)) == []
    assert verify_chain(load_events(session, case_id)) == []
