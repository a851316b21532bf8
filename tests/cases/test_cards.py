"""Yellow and red cards fired by the worker's durable timers: current due times, stale timers, no double effects."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from tests.cases.test_flow import open_tasks, submit_and_accept
from tests.factories import joint_approval_process, make_city, publish_matter
from xietong.cases import cards, service
from xietong.cases.models import Case, Event
from xietong.cases.replay import replay_case, state_differences, stored_state
from xietong.engine.models import Task
from xietong.system.calendar import work_calendar
from xietong.worker import timers
from xietong.worker.models import Timer

EVERYTHING = 100_000  # other tests of this worker's database leave pending timers too: fire past them
SECOND = timedelta(seconds=1)


@pytest.fixture
def case_id(session: Session) -> int:
    city = make_city(session)
    process = joint_approval_process()
    accept = next(node for node in process["nodes"] if node["id"] == "accept")
    accept["limit_days"] = 1  # the first step has its own limit, so it gets a task_due timer
    local = publish_matter(session, city, process)
    return submit_and_accept(session, city, local.id)


@pytest.fixture
def restore_handlers() -> Iterator[None]:
    saved = dict(timers.HANDLERS)
    yield
    timers.HANDLERS.clear()
    timers.HANDLERS.update(saved)


def timer_of(session: Session, case_id: int, kind: str) -> Timer:
    timer = session.scalars(select(Timer).where(Timer.case_id == case_id, Timer.kind == kind)).one()
    session.refresh(timer)
    return timer


def events(session: Session, case_id: int) -> list[tuple[str, str]]:
    rows = session.execute(select(Event.type, Event.actor_kind).where(Event.case_id == case_id).order_by(Event.seq))
    return [(row.type, row.actor_kind) for row in rows]


def card_events(session: Session, case_id: int) -> list[str]:
    return [kind for kind, _ in events(session, case_id) if kind.startswith(("case.card", "task.overdue"))]


def case_cards(session: Session, case_id: int) -> list[str]:
    return [kind for kind in card_events(session, case_id) if kind.startswith("case.")]


def fire(session: Session, now: datetime) -> None:
    timers.fire_timers(session, now=now, limit=EVERYTHING)


def assert_replays(session: Session, case_id: int) -> None:
    assert state_differences(replay_case(session, case_id), stored_state(session, case_id)) == []


def test_yellow_then_red_then_the_overdue_step_each_once_as_the_system(session: Session, case_id: int) -> None:
    case = session.get(Case, case_id)
    assert case is not None and case.card == "none" and case.due_at is not None
    yellow = timer_of(session, case_id, "case_yellow")
    [task] = open_tasks(session, case_id)
    assert task.card == "none" and task.due_at is not None

    fire(session, yellow.fire_at - SECOND)  # not yet due: untouched (the one-day step may be overdue already)
    assert timer_of(session, case_id, "case_yellow").state == "pending"
    assert case_cards(session, case_id) == []

    fire(session, yellow.fire_at)
    session.refresh(case)
    assert case.card == "yellow"
    assert events(session, case_id)[-1] == ("case.card_yellow", "system")
    assert timer_of(session, case_id, "case_yellow").state == "done"
    assert_replays(session, case_id)

    late = max(case.due_at, task.due_at) + SECOND
    fire(session, late)
    fire(session, late + timedelta(days=1))  # again: nothing twice
    session.refresh(case)
    session.refresh(task)
    assert (case.card, task.card) == ("red", "red")
    assert sorted(card_events(session, case_id)) == ["case.card_red", "case.card_yellow", "task.overdue"]
    assert {timer_of(session, case_id, k).state for k in ("case_red", "task_due")} == {"done"}
    assert_replays(session, case_id)


def test_a_timer_whose_due_time_moved_is_marked_done_without_effect(session: Session, case_id: int) -> None:
    yellow = timer_of(session, case_id, "case_yellow")
    case = session.get(Case, case_id)
    assert case is not None and case.due_at is not None
    # What a resume does to the row (that operation arrives with the engine's half of issue 4): a later due time.
    old_due = case.due_at
    session.execute(update(Case).where(Case.id == case_id).values(due_at=old_due + timedelta(days=30)))
    fire(session, old_due + SECOND)
    assert {timer_of(session, case_id, k).state for k in ("case_yellow", "case_red")} == {"done"}
    session.refresh(case)
    assert case.card == "none"
    assert case_cards(session, case_id) == []
    assert yellow.id == timer_of(session, case_id, "case_yellow").id


def test_a_paused_case_gets_no_card(session: Session, case_id: int) -> None:
    # No suspend operation exists on this branch yet, so the status is set as the operation will set it.
    case = session.get(Case, case_id)
    assert case is not None and case.due_at is not None
    session.execute(update(Case).where(Case.id == case_id).values(status="suspended"))
    fire(session, case.due_at + timedelta(days=60))
    session.refresh(case)
    assert case.card == "none" and card_events(session, case_id) == []
    assert {timer_of(session, case_id, k).state for k in ("case_yellow", "case_red", "task_due")} == {"done"}


def test_a_closed_step_is_never_overdue(session: Session, case_id: int) -> None:
    [task] = open_tasks(session, case_id)
    session.execute(update(Task).where(Task.id == task.id).values(state="cancelled"))
    timer = timer_of(session, case_id, "task_due")
    fire(session, timer.fire_at + SECOND)
    session.refresh(task)
    assert task.card == "none" and "task.overdue" not in card_events(session, case_id)
    assert timer_of(session, case_id, "task_due").state == "done"


def test_a_handler_rolled_back_mid_way_leaves_nothing_and_the_rerun_fires_once(
    session: Session, case_id: int, restore_handlers: None
) -> None:
    yellow = timer_of(session, case_id, "case_yellow")

    def card_then_crash(session: Session, timer: Row[Any], now: datetime) -> None:
        cards.case_yellow(session, timer, now)  # the card and its event are written …
        raise ConnectionError("worker lost its database")  # … and then the handler dies

    timers.HANDLERS["case_yellow"] = card_then_crash
    fire(session, yellow.fire_at)
    after_crash = timer_of(session, case_id, "case_yellow")
    assert (after_crash.state, after_crash.attempts) == ("pending", 1)
    case = session.get(Case, case_id)
    assert case is not None
    session.refresh(case)
    assert case.card == "none" and case_cards(session, case_id) == []

    timers.HANDLERS["case_yellow"] = cards.case_yellow
    killed = session.begin_nested()  # a worker killed before its commit …
    fire(session, yellow.fire_at + timedelta(hours=1))
    killed.rollback()
    assert timer_of(session, case_id, "case_yellow").state == "pending" and case_cards(session, case_id) == []

    fire(session, yellow.fire_at + timedelta(hours=1))  # … and the next one
    fire(session, yellow.fire_at + timedelta(hours=2))
    assert case_cards(session, case_id) == ["case.card_yellow"]
    assert timer_of(session, case_id, "case_yellow").state == "done"
    assert_replays(session, case_id)


def test_a_kind_without_handler_is_retried_then_dead(session: Session) -> None:
    timer = Timer(kind="nobody_handles", fire_at=datetime(2001, 1, 1).astimezone(), payload={})
    session.add(timer)
    session.flush()
    now = datetime(2001, 1, 2).astimezone()
    for attempt in range(1, timers.MAX_ATTEMPTS + 1):
        fire(session, now + timedelta(days=attempt * 400))
        session.refresh(timer)
        assert timer.attempts == attempt
    assert timer.state == "dead"
    with pytest.raises(ValueError):
        timers.handles("case_red")(cards.case_yellow)


def test_a_resume_that_moves_the_due_time_past_now_takes_the_red_cards_back(session: Session) -> None:
    city = make_city(session)
    process = joint_approval_process()
    next(node for node in process["nodes"] if node["id"] == "accept")["limit_days"] = 1
    case_id = submit_and_accept(session, city, publish_matter(session, city, process).id)
    staff = city.principal(session, "staffing")
    [task] = open_tasks(session, case_id)
    assert task.due_at is not None

    late = task.due_at + SECOND  # the step is overdue; the case (a longer limit) is not
    fire(session, late)
    session.refresh(task)
    assert task.card == "red"
    service.suspend_case(session, principal=staff, case_id=case_id, reason="等待材料", now=late)
    service.resume_case(session, principal=staff, case_id=case_id, now=next_working_hour(session, late))
    session.refresh(task)
    assert task.card == "none" and task.due_at > late
    assert_replays(session, case_id)

    case = session.get(Case, case_id)
    assert case is not None and case.due_at is not None
    overdue = case.due_at + SECOND
    fire(session, overdue)
    session.refresh(case)
    assert case.card == "red"
    service.suspend_case(session, principal=staff, case_id=case_id, reason="等待批复", now=overdue)
    resumed = next_working_hour(session, overdue)
    service.resume_case(session, principal=staff, case_id=case_id, now=resumed)
    session.refresh(case)
    assert case.due_at > resumed and case.card == "yellow"  # one working day left: within the yellow threshold
    fire(session, resumed + SECOND)  # the re-armed yellow timer finds the card already shown
    assert case_cards(session, case_id).count("case.card_red") == 1
    assert case_cards(session, case_id).count("case.card_yellow") == 1
    assert_replays(session, case_id)


def next_working_hour(session: Session, after: datetime) -> datetime:
    """An hour into the first local working day at or after ``after`` (a pause then touches one working day)."""
    calendar = work_calendar(session.connection(), cards.TZ)
    day = next(after + timedelta(days=n) for n in range(15) if calendar.is_working_day(calendar.local_date(
        after + timedelta(days=n))))
    return day + timedelta(hours=1)
