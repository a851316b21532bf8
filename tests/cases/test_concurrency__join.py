"""Three reviewers deciding the three branches of one parallel block at the same moment.

Each decision waits for the case row lock, then reads the block's counters: they must be read after
the lock (never from the snapshot of the locking statement), or the join would miss an arrival and
wait forever. Commits real rows in a region with a random code, left behind (each worker's database
is temporary).
"""

from __future__ import annotations

import random
import threading

import pytest
from sqlalchemy import Engine, select

from tests.factories import joint_approval_process, make_city, publish_matter
from xietong.cases import service
from xietong.db.session import read_only, unit_of_work
from xietong.engine.models import Scope, Task
from xietong.security.principal import Principal, load_principal

pytestmark = pytest.mark.committed

REVIEWERS = ("finance", "hr_social", "big_data")
ROUNDS = 3


def test_simultaneous_arrivals_at_a_join_are_all_counted_and_the_next_step_opens_once(db_engine: Engine) -> None:
    with unit_of_work(db_engine) as session:
        city = make_city(session, code=str(random.randint(100000, 989999)), holders=1)
        local_id = publish_matter(session, city, joint_approval_process(REVIEWERS)).id
        people = {
            "applicant": city.person("office", "clerk").id,
            "acceptor": city.person("staffing", "clerk").id,
            **{f: city.person(f, "section_chief").id for f in REVIEWERS},
        }
        applicant_unit = city.units["office"].id
    with read_only(db_engine) as session:
        principals = {key: load_principal(session, person_id) for key, person_id in people.items()}
    for _ in range(ROUNDS):
        with unit_of_work(db_engine) as session:
            case_id, _ = service.submit_case(
                session,
                principal=principals["applicant"],
                local_matter_id=local_id,
                applicant_unit_id=applicant_unit,
                form={"title": "并行审查"},
            )
            [accept] = service.accept_case(session, principal=principals["acceptor"], case_id=case_id)
            reviews = service.complete_task(session, principal=principals["acceptor"], task_id=accept, approved=True)
        opened = _race(db_engine, [(principals[f], task_id) for f, task_id in zip(REVIEWERS, reviews, strict=True)])
        assert sum(len(ids) for ids in opened) == 1  # the last arrival, and only it, opens 审批
        with read_only(db_engine) as session:
            open_nodes = session.scalars(select(Task.node_id).where(Task.case_id == case_id, Task.state == "open"))
            assert list(open_nodes) == ["approve"]
            block = session.execute(
                select(Scope.arrived, Scope.approved_count, Scope.state).where(
                    Scope.case_id == case_id, Scope.kind == "parallel"
                )
            ).one()
            assert tuple(block) == (3, 3, "completed")


def _race(engine: Engine, decisions: list[tuple[Principal, int]]) -> list[list[int]]:
    barrier = threading.Barrier(len(decisions), timeout=10)
    results: list[list[int] | BaseException] = [[] for _ in decisions]

    def run(i: int) -> None:
        principal, task_id = decisions[i]
        try:
            barrier.wait()
            with unit_of_work(engine) as session:
                results[i] = service.complete_task(session, principal=principal, task_id=task_id, approved=True)
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(decisions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    failures = [r for r in results if isinstance(r, BaseException)]
    assert not failures, failures
    return [r for r in results if not isinstance(r, BaseException)]
