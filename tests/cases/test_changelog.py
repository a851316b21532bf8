"""The change log: positions only for committed events, in one gap-free order, even with two sequencers."""

from __future__ import annotations

import random
import threading

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.factories import linear_process, make_city, post_rule, publish_matter
from xietong.cases import service
from xietong.cases.changelog import changes_after, sequence_events
from xietong.cases.models import Event
from xietong.db.session import unit_of_work
from xietong.errors import InvalidInput
from xietong.worker.loop import run_once

PROCESS = linear_process(("review", post_rule("finance")))


def _submit(session: Session, n: int) -> list[int]:
    city = make_city(session, code=str(random.randint(100000, 989999)))
    local = publish_matter(session, city, PROCESS, handling="staffing")
    clerk = city.principal(session, "office")
    return [
        service.submit_case(
            session, principal=clerk, local_matter_id=local.id, applicant_unit_id=city.units["office"].id,
            form={"title": f"变更日志{i}"},
        )[0]
        for i in range(n)
    ]


def test_sequencing_numbers_events_in_id_order_and_the_feed_reads_them(session: Session) -> None:
    before = session.scalar(select(func.max(Event.position))) or 0
    case_ids = _submit(session, 3)
    assert sequence_events(session) >= 3
    assert sequence_events(session) == 0  # nothing left
    ours = session.execute(
        select(Event.id, Event.position).where(Event.case_id.in_(case_ids)).order_by(Event.id)
    ).all()
    positions = [p for _, p in ours]
    assert all(p is not None and p > before for p in positions) and positions == sorted(positions)
    feed = [c for c in changes_after(session, position=before) if c.case_id in case_ids]
    assert [c.case_id for c in feed] == case_ids and {c.type for c in feed} == {"case.submitted"}
    with pytest.raises(InvalidInput):
        changes_after(session, position=0, limit=0)


@pytest.mark.committed
def test_two_sequencers_at_once_never_hand_out_a_position_twice(db_engine: Engine) -> None:
    with unit_of_work(db_engine) as session:
        _submit(session, 40)
    barrier, errors = threading.Barrier(2), []

    def sequencer() -> None:
        try:
            barrier.wait()
            for _ in range(5):
                with unit_of_work(db_engine) as session:
                    sequence_events(session, batch=7)
        except Exception as exc:  # collected: an assertion in a thread would be lost
            errors.append(exc)

    threads = [threading.Thread(target=sequencer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    while any(run_once(db_engine).values()):
        pass
    with unit_of_work(db_engine) as session:
        positions = session.scalars(select(Event.position).order_by(Event.position)).all()
    assert None not in positions
    assert positions == list(range(positions[0], positions[0] + len(positions)))  # unique and gap-free
