"""Two workers racing for the same due timers on PostgreSQL: each card is recorded once, each timer done once."""

from __future__ import annotations

import os
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.cases.test_flow import submit_and_accept
from tests.cli.conftest import CliDb, cli_db, cli_template  # noqa: F401  (a database of this test's own)
from tests.conftest import PG_ENV
from tests.factories import joint_approval_process, make_city, publish_matter
from xietong.cases.models import Case, Event
from xietong.db.session import unit_of_work
from xietong.worker import loop  # noqa: F401  (registers the cases domain's timer handlers)
from xietong.worker.models import Timer
from xietong.worker.timers import fire_timers


@pytest.mark.skipif(not os.environ.get(PG_ENV), reason="a real race needs PostgreSQL; SQLite serialises writers")
def test_two_workers_racing_fire_each_card_once(cli_db: CliDb) -> None:  # noqa: F811
    engine = cli_db.engine
    with unit_of_work(engine) as session:
        city = make_city(session)
        local = publish_matter(session, city, joint_approval_process())
        case_id = submit_and_accept(session, city, local.id)
        due = session.get(Case, case_id).due_at  # type: ignore[union-attr]
    assert due is not None
    start, failures = threading.Barrier(2), []

    def worker() -> None:
        try:
            with unit_of_work(engine) as session:
                start.wait()
                fire_timers(session, now=due + timedelta(seconds=1))
        except Exception as exc:  # reported below: an assertion in a thread would be lost
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    with unit_of_work(engine) as session:
        types = session.scalars(
            select(Event.type).where(Event.case_id == case_id, Event.type.like("case.card%")).order_by(Event.seq)
        ).all()
        assert types == ["case.card_yellow", "case.card_red"]
        states = session.execute(
            select(Timer.state, func.count()).where(Timer.case_id == case_id).group_by(Timer.state)
        ).all()
        assert dict(states) == {"done": 2}
        assert session.get(Case, case_id).card == "red"  # type: ignore[union-attr]
