"""The worker keeps the day summaries exact by itself: writes into days already summarised (events timed in the
past) are found through the change log and exactly those days summarised again; new closed days are summarised
after midnight; live work marks nothing; and without a first refresh the duty does nothing."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.monitor.conftest import NOW, Build, Quarter
from tests.monitor.test_summary import PERIODS, clear, everything, random_history
from xietong.cases.changelog import sequence_events
from xietong.dataservice.models import FeedCursor
from xietong.monitor.models import CaseDay
from xietong.monitor.summary import CURSOR, refresh, summarised_through
from xietong.monitor.upkeep import keep_summaries, runs

VARIANTS = ("", "unit", "region", "matter")


def _variant(quarter: Quarter, name: str) -> dict[str, int]:
    return {"": {}, "unit": {"unit_id": quarter.city.units["staffing"].id},
            "region": {"region_id": quarter.city.region.id},
            "matter": {"local_matter_id": quarter.two_step.id}}[name]


def _all(session: Session, quarter: Quarter) -> dict[tuple[str, str], object]:
    return {(p, v): everything(session, quarter, p, **_variant(quarter, v)) for p in PERIODS for v in VARIANTS}


def test_runs_of_days() -> None:
    d = date(2026, 7, 1)
    assert runs({d, d + timedelta(days=1), d + timedelta(days=2), d + timedelta(days=6)}) == [
        (d, d + timedelta(days=2)), (d + timedelta(days=6), d + timedelta(days=6))]
    assert runs(set()) == []


@pytest.mark.parametrize("seed", [3, 4])
def test_writes_into_summarised_days_are_summarised_again_by_the_duty(
    session: Session, quarter: Quarter, seed: int
) -> None:
    rng = random.Random(seed)
    clear(session)
    sequence_events(session)
    refresh(session, since=date(2026, 1, 1), now=NOW)  # summaries through 10-08, the log so far behind the cursor
    assert keep_summaries(session, now=NOW) == 0  # nothing new: nothing to do
    before = session.scalar(select(func.count()).select_from(CaseDay))
    random_history(session, quarter, rng, 30, date(2026, 6, 25), 100)  # into summarised days
    sequence_events(session)
    stale = _all(session, quarter)
    done = keep_summaries(session, now=NOW)
    assert done > 0 and summarised_through(session) == date(2026, 10, 8)
    kept = _all(session, quarter)
    assert kept != stale  # the new cases were missing from the summarised days until the duty ran
    assert session.scalar(select(func.count()).select_from(CaseDay)) > before
    cursor = session.scalar(select(FeedCursor.position).where(FeedCursor.name == CURSOR))
    assert keep_summaries(session, now=NOW) == 0 and cursor is not None  # the cursor passed them: done once
    clear(session)
    assert _all(session, quarter) == kept  # every figure equals the direct reading from the cases


def test_new_closed_days_are_summarised_after_midnight(session: Session, quarter: Quarter) -> None:
    clear(session)
    refresh(session, through=date(2026, 9, 28), since=date(2026, 1, 1), now=NOW)
    direct_q3 = everything(session, quarter, "2026Q3")
    assert keep_summaries(session, now=NOW) == 10  # 09-29 … 10-08
    assert summarised_through(session) == date(2026, 10, 8)
    assert everything(session, quarter, "2026Q3") == direct_q3
    assert keep_summaries(session, now=NOW + timedelta(days=1)) == 1  # the next midnight: one more day


def test_live_work_marks_no_day(session: Session, quarter: Quarter) -> None:
    clear(session)
    sequence_events(session)
    refresh(session, since=date(2026, 1, 1), now=NOW)
    Build(session, quarter.city).submit(quarter.two_step, NOW, "web")  # today: not a summarised day
    assert sequence_events(session) > 0
    assert keep_summaries(session, now=NOW) == 0


def test_without_a_first_refresh_the_duty_does_nothing(session: Session, quarter: Quarter) -> None:
    clear(session)
    assert keep_summaries(session, now=NOW) == 0
    assert summarised_through(session) is None and session.scalar(select(func.count()).select_from(CaseDay)) == 0
