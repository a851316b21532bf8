"""Two people acting on the same task at the same moment, each in their own committed transaction.

These tests commit real rows (in a region with a random code, left behind: each worker's database
is temporary), then race two threads through a Barrier; exactly one operation may win.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, select

from tests.factories import linear_process, make_city, post_rule, publish_matter
from xietong.cases import service
from xietong.cases.models import Case, Event
from xietong.db.session import read_only, unit_of_work
from xietong.engine.models import Task
from xietong.errors import Conflict
from xietong.security.principal import load_principal

pytestmark = pytest.mark.committed

PROCESS = linear_process(("review", post_rule("finance")), ("approve", post_rule("staffing", "leader_in_charge")))


@dataclass
class Setup:
    case_id: int
    task_id: int
    racers: tuple[int, int]  # two holders of the task's post


def committed_case(engine: Engine) -> Setup:
    with unit_of_work(engine) as session:
        city = make_city(session, code=str(random.randint(100000, 989999)))
        local = publish_matter(session, city, PROCESS)
        case_id, _ = service.submit_case(
            session,
            principal=city.principal(session, "office"),
            local_matter_id=local.id,
            applicant_unit_id=city.units["office"].id,
            form={"title": "并发测试"},
        )
        service.accept_case(session, principal=city.principal(session, "staffing"), case_id=case_id)
        [task] = session.scalars(select(Task).where(Task.case_id == case_id, Task.state == "open")).all()
        racers = (city.person("finance", "section_chief", 0).id, city.person("finance", "section_chief", 1).id)
        return Setup(case_id, task.id, racers)


def race(engine: Engine, setup: Setup, act: Callable[..., None]) -> list[BaseException | None]:
    barrier = threading.Barrier(2, timeout=10)
    results: list[BaseException | None] = [None, None]

    with read_only(engine) as session:
        principals = [load_principal(session, person_id) for person_id in setup.racers]

    def run(i: int) -> None:
        try:
            barrier.wait()  # before BEGIN: on SQLite the write transaction itself is the lock
            with unit_of_work(engine) as session:
                act(session, principal=principals[i], task_id=setup.task_id)
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    return results


def outcome(results: list[BaseException | None]) -> tuple[int, BaseException]:
    """(index of the single winner, the loser's exception)."""
    winners = [i for i, r in enumerate(results) if r is None]
    losers = [r for r in results if r is not None]
    assert len(winners) == 1 and len(losers) == 1, results
    return winners[0], losers[0]


def test_two_people_deciding_the_same_task_at_once_only_one_wins(db_engine: Engine) -> None:
    setup = committed_case(db_engine)

    def complete(session, *, principal, task_id):  # type: ignore[no-untyped-def]
        service.complete_task(session, principal=principal, task_id=task_id, approved=True, opinion="同意")

    won, loser = outcome(race(db_engine, setup, complete))
    assert isinstance(loser, Conflict), repr(loser)
    with unit_of_work(db_engine) as session:
        rows = session.scalars(select(Task).where(Task.case_id == setup.case_id).order_by(Task.id)).all()
        assert [(t.node_id, t.state) for t in rows] == [("review", "completed"), ("approve", "open")]
        assert rows[0].completed_by_id == setup.racers[won]
        types = session.scalars(select(Event.type).where(Event.case_id == setup.case_id)).all()
        assert types.count("task.completed") == 1
        case = session.get(Case, setup.case_id)
        assert case is not None and case.step_results["review"]["approved"] is True


def test_two_holders_claiming_a_shared_task_at_once_only_one_wins(db_engine: Engine) -> None:
    setup = committed_case(db_engine)
    won, loser = outcome(race(db_engine, setup, service.claim_task))
    assert isinstance(loser, Conflict), repr(loser)
    with unit_of_work(db_engine) as session:
        task = session.get(Task, setup.task_id)
        assert task is not None and task.state == "open" and task.assignee_id == setup.racers[won]
        types = session.scalars(select(Event.type).where(Event.case_id == setup.case_id)).all()
        assert types.count("task.claimed") == 1


def test_a_decision_and_a_transfer_of_the_same_task_at_once_only_one_wins(db_engine: Engine) -> None:
    setup = committed_case(db_engine)
    with unit_of_work(db_engine) as session:
        task = session.get(Task, setup.task_id)
        assert task is not None
        from xietong.directory.models import Membership

        colleague = session.scalars(
            select(Membership.person_id).where(Membership.unit_id == task.unit_id,
                                               Membership.person_id.not_in(setup.racers))
        ).first()

    def decide_or_transfer(session, *, principal, task_id):  # type: ignore[no-untyped-def]
        if principal.id == setup.racers[0]:
            service.complete_task(session, principal=principal, task_id=task_id, approved=True)
        else:
            service.transfer_task(session, principal=principal, task_id=task_id, to_person_id=colleague)

    won, loser = outcome(race(db_engine, setup, decide_or_transfer))
    assert isinstance(loser, Conflict), repr(loser)
    with unit_of_work(db_engine) as session:
        rows = session.scalars(select(Task).where(Task.case_id == setup.case_id).order_by(Task.id)).all()
        expected = [("review", "completed"), ("approve", "open")] if won == 0 else \
            [("review", "transferred"), ("review", "open")]
        assert [(t.node_id, t.state) for t in rows] == expected
        types = session.scalars(select(Event.type).where(Event.case_id == setup.case_id)).all()
        assert types.count("task.completed") + types.count("task.transferred") == 1
