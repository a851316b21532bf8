"""What a fault test checks once the dust has settled: nothing committed lost, nothing done twice, chains whole."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

import xietong.cli.audit  # noqa: F401  (registers `xietong audit`)
from tests.cli.conftest import CliDb
from xietong.cases.jobs import TASK_OPENED
from xietong.cases.models import Event, Notification
from xietong.cases.replay import verify_chain
from xietong.db.base import utcnow
from xietong.db.session import unit_of_work
from xietong.engine.models import Task
from xietong.worker.loop import run_once
from xietong.worker.models import OutboxMessage, Timer


def drain(cli_db: CliDb) -> None:
    """Run the worker's duties until nothing is left, as a restarted worker would."""
    for _ in range(200):
        if not any(run_once(cli_db.engine).values()):
            return
    raise AssertionError("the worker never ran out of work")


def check_invariants(cli_db: CliDb, first: dict[int, int], acknowledged: list[int], *, steps: int) -> None:
    """``first`` maps each case to its first task; ``acknowledged`` are the completions answered 200."""
    drain(cli_db)
    with unit_of_work(cli_db.engine) as session:
        tasks = session.execute(select(Task.id, Task.case_id, Task.state, Task.card)).all()
        events = session.execute(select(Event).order_by(Event.case_id, Event.seq)).scalars().all()
        by_type = Counter((e.case_id, e.type) for e in events)
        state = {t.id: t.state for t in tasks}
        # Nothing acknowledged is lost; every case went through all of its steps, each decided once.
        assert all(state[t] == "completed" for t in acknowledged)
        assert len(acknowledged) == len(set(acknowledged))
        for case_id in first:
            mine = [t for t in tasks if t.case_id == case_id]
            assert [t.state for t in mine] == ["completed"] * steps
            assert by_type[(case_id, "task.completed")] == steps
            # Each timer took effect at most once: one yellow and one red card, one overdue mark per step.
            assert by_type[(case_id, "case.card_yellow")] <= 1 and by_type[(case_id, "case.card_red")] == 1
            assert by_type[(case_id, "task.overdue")] == sum(t.card == "red" for t in mine) <= steps
        # Every timer and outbox row was handled, none twice: no notification twice.
        assert session.scalar(select(func.count()).select_from(Timer).where(
            Timer.state == "pending", Timer.fire_at <= utcnow())) == 0
        assert session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.state != "done")) == 0
        notes = Counter(session.execute(select(Notification.person_id, Notification.case_id, Notification.title)
                                        .where(Notification.kind == TASK_OPENED)).all())
        # (A step decided before its message was delivered notifies no one: only still-open steps are announced.)
        assert all(n == 1 for n in notes.values()), [(key, n) for key, n in notes.most_common(3)]
        for case_id in first:
            assert verify_chain([e for e in events if e.case_id == case_id]) == []
    verified = cli_db.run("audit", "verify")
    assert verified.exit_code == 0, verified.output
