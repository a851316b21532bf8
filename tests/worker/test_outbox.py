"""Outbox delivery: task.opened becomes notifications once, failures back off and die, workers claim disjoint rows."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.orm import Session

import xietong.cases.jobs  # noqa: F401  (registers task.opened)
from tests.cases.test_flow import open_tasks, submit_and_accept
from tests.conftest import PG_ENV
from tests.factories import joint_approval_process, make_city, publish_matter
from xietong.cases.models import Notification
from xietong.db.base import utcnow
from xietong.db.session import unit_of_work
from xietong.worker import outbox
from xietong.worker.models import OutboxMessage

EVERYTHING = 100_000  # other tests of this worker's database leave pending messages too: claim past them


@pytest.fixture
def topic() -> Iterator[str]:
    """A test topic whose handler the test installs; removed afterwards."""
    yield "test.topic"
    outbox.HANDLERS.pop("test.topic", None)


def message(session: Session, topic: str, payload: dict[str, Any] | None = None) -> int:
    row = OutboxMessage(topic=topic, key="t", payload=payload or {})
    session.add(row)
    session.flush()
    return row.id


def test_task_opened_notifies_every_holder_of_the_shared_post_once(session: Session) -> None:
    city = make_city(session)
    local = publish_matter(session, city, joint_approval_process())
    case_id = submit_and_accept(session, city, local.id)
    [task] = open_tasks(session, case_id)
    [opened] = session.scalars(
        select(OutboxMessage).where(OutboxMessage.topic == "task.opened", OutboxMessage.key == str(case_id))
    ).all()
    assert opened.payload["task_ids"] == [task.id]

    assert outbox.deliver_outbox(session, limit=EVERYTHING) >= 1
    clerks = sorted(city.people[f"staffing.clerk.{i}"].id for i in range(2))
    notes = session.scalars(select(Notification).where(Notification.case_id == case_id)).all()
    assert sorted(n.person_id for n in notes) == clerks
    assert all(n.kind == "task_opened" and "受理审查" in n.title and n.read_at is None for n in notes)
    session.refresh(opened)
    assert (opened.state, opened.attempts) == ("done", 0) and opened.done_at is not None

    outbox.deliver_outbox(session, limit=EVERYTHING)  # nothing is delivered twice
    assert len(session.scalars(select(Notification).where(Notification.case_id == case_id)).all()) == 2


def test_a_task_assigned_to_one_person_notifies_only_them_and_a_closed_task_nobody(session: Session) -> None:
    city = make_city(session)
    local = publish_matter(session, city, joint_approval_process())
    case_id = submit_and_accept(session, city, local.id)
    [task] = open_tasks(session, case_id)
    session.execute(delete(OutboxMessage).where(OutboxMessage.key == str(case_id)))
    clerk = city.people["staffing.clerk.1"]
    task.assignee_id = clerk.id
    session.flush()
    message(session, "task.opened", {"case_id": case_id, "task_ids": [task.id]})
    outbox.deliver_outbox(session, limit=EVERYTHING)
    assert [n.person_id for n in session.scalars(select(Notification).where(Notification.case_id == case_id))] == [
        clerk.id
    ]
    task.state = "cancelled"
    session.flush()
    message(session, "task.opened", {"case_id": case_id, "task_ids": [task.id]})
    outbox.deliver_outbox(session, limit=EVERYTHING)
    assert len(session.scalars(select(Notification).where(Notification.case_id == case_id)).all()) == 1


def test_a_failing_handler_leaves_no_effect_backs_off_and_dies_after_max_attempts(
    session: Session, topic: str
) -> None:
    city = make_city(session)
    person = city.people["office.clerk.0"]

    @outbox.handles(topic)
    def half_then_fail(session: Session, payload: dict[str, Any]) -> None:
        session.execute(insert(Notification).values(person_id=person.id, kind="test", title="半途"))
        raise RuntimeError("接口超时")

    message_id = message(session, topic)
    now = utcnow()
    outbox.deliver_outbox(session, now=now, limit=EVERYTHING)
    row = session.get(OutboxMessage, message_id)
    assert row is not None
    session.refresh(row)
    assert (row.state, row.attempts, row.last_error) == ("pending", 1, "RuntimeError: 接口超时")
    assert _aware(row.available_at) == now + timedelta(seconds=10)
    assert session.scalars(select(Notification).where(Notification.person_id == person.id)).all() == []

    outbox.deliver_outbox(session, now=now + timedelta(seconds=5), limit=EVERYTHING)  # not yet due again
    session.refresh(row)
    assert row.attempts == 1
    for attempt in range(2, outbox.MAX_ATTEMPTS + 1):
        outbox.deliver_outbox(session, now=now + timedelta(days=attempt), limit=EVERYTHING)
        session.refresh(row)
        assert row.attempts == attempt
    assert row.state == "dead"
    assert outbox.backoff(2) == timedelta(seconds=20) and outbox.backoff(30) == outbox.MAX_BACKOFF


def test_a_worker_killed_mid_batch_loses_nothing_and_the_rerun_delivers_once(session: Session, topic: str) -> None:
    city = make_city(session)
    person = city.people["office.clerk.0"]

    @outbox.handles(topic)
    def notify(session: Session, payload: dict[str, Any]) -> None:
        session.execute(insert(Notification).values(person_id=person.id, kind="test", title=payload["title"]))

    message_ids = [message(session, topic, {"title": f"第{i}条"}) for i in range(3)]
    killed = session.begin_nested()  # the worker's transaction …
    outbox.deliver_outbox(session, limit=EVERYTHING)
    killed.rollback()  # … dies before its commit
    states = session.scalars(select(OutboxMessage.state).where(OutboxMessage.id.in_(message_ids))).all()
    assert states == ["pending"] * 3
    assert session.scalars(select(Notification).where(Notification.person_id == person.id)).all() == []

    outbox.deliver_outbox(session, limit=EVERYTHING)
    titles = session.scalars(select(Notification.title).where(Notification.person_id == person.id)).all()
    assert sorted(titles) == ["第0条", "第1条", "第2条"]


def test_a_message_without_handler_is_retried_not_lost(session: Session) -> None:
    message_id = message(session, "nobody.listens")
    outbox.deliver_outbox(session, limit=EVERYTHING)
    row = session.get(OutboxMessage, message_id)
    assert row is not None
    session.refresh(row)
    assert (row.state, row.attempts) == ("pending", 1) and "nobody.listens" in (row.last_error or "")


def test_one_topic_has_one_handler() -> None:
    with pytest.raises(ValueError):
        outbox.handles("task.opened")(lambda session, payload: None)


@pytest.mark.skipif(not os.environ.get(PG_ENV), reason="SKIP LOCKED is PostgreSQL's; SQLite serialises writers")
def test_two_workers_claim_disjoint_messages(db_engine: Engine) -> None:
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)  # before anything else pending: these four are claimed first
    with unit_of_work(db_engine) as session:
        result = session.execute(
            insert(OutboxMessage).returning(OutboxMessage.id),
            [{"topic": "test.claim", "key": str(i), "payload": {}, "available_at": long_ago} for i in range(4)],
        )
        ids = set(result.scalars())
    first, second = Session(db_engine), Session(db_engine)
    try:
        now = utcnow()
        mine = {row.id for row in outbox.claim_messages(first, now=now, limit=2)}
        theirs = {row.id for row in outbox.claim_messages(second, now=now, limit=2)}  # does not wait for `first`
        assert len(mine) == len(theirs) == 2
        assert mine.isdisjoint(theirs) and mine | theirs == ids
    finally:
        first.rollback()
        second.rollback()
        first.close()
        second.close()
        with unit_of_work(db_engine) as session:
            session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(ids)))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
