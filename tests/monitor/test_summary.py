"""The day summaries are exact: every figure read through them equals the figure read from the cases alone —
on the hand-computed quarter and after random operations, with the summaries' last day anywhere in a period,
and stale (operations after the refresh)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from tests.cases.test_returns import holder
from tests.engine.test_nodes__multi import tasks
from tests.monitor.conftest import NOW, Build, Quarter, at
from xietong.cases import service
from xietong.cases.models import Case
from xietong.monitor.figures import figures, overview, ranking
from xietong.monitor.filters import Filters, parse_period
from xietong.monitor.models import CaseDay, DaysUsedDay, StepDay, SummaryState
from xietong.monitor.steps import bottlenecks
from xietong.monitor.summary import refresh, summarised_through
from xietong.monitor.trend import trend

PERIODS = ("2026Q3", "2026Q4", "2026", "2026-07", "2026-09-01..2026-10-09", "2026-07-06..2026-07-06")


def everything(session: Session, quarter: Quarter, period: str, **filters: int) -> dict[str, Any]:
    f = Filters(period=parse_period(period), **filters)
    result: dict[str, Any] = {}
    for who, principal in (("supervisor", quarter.supervisor), ("reform", quarter.reform)):
        found = figures(session, principal=principal, filters=f, now=NOW).model_dump(exclude={"as_of"})
        result[f"{who}.figures"] = found
        for by in ("unit", "region"):
            result[f"{who}.{by}"] = ranking(session, principal=principal, filters=f, by=by, now=NOW).rows
        result[f"{who}.steps"] = bottlenecks(session, principal=principal, filters=f, now=NOW, limit=1000).rows
        result[f"{who}.top_steps"] = bottlenecks(session, principal=principal, filters=f, now=NOW, limit=2).rows
        result[f"{who}.trend"] = trend(session, principal=principal, filters=f, now=NOW)
        # the dashboard's one pass gives the same figures and rankings as the three calls
        made, units, regions = overview(session, principal=principal, filters=f, now=NOW)
        assert made.model_dump(exclude={"as_of"}) == found
        assert (units.rows, regions.rows) == (result[f"{who}.unit"], result[f"{who}.region"])
    return result


def clear(session: Session) -> None:
    for model in (CaseDay, DaysUsedDay, StepDay, SummaryState):
        session.execute(delete(model))


def compare(session: Session, quarter: Quarter, through: date) -> None:
    """Direct figures first, then the same through summaries reaching ``through``."""
    variants = [{}, {"unit_id": quarter.city.units["staffing"].id}, {"region_id": quarter.city.region.id},
                {"local_matter_id": quarter.two_step.id}]
    clear(session)
    direct = {(p, i): everything(session, quarter, p, **v) for p in PERIODS for i, v in enumerate(variants)}
    refresh(session, through=through, since=date(2026, 1, 1), now=NOW)
    assert summarised_through(session) == through
    for (p, i), expected in direct.items():
        assert everything(session, quarter, p, **variants[i]) == expected, (p, variants[i], through)


@pytest.mark.parametrize("through", [date(2026, 7, 6), date(2026, 7, 15), date(2026, 9, 30), date(2026, 10, 8)])
def test_the_quarter_through_summaries_reaching_any_day(session: Session, quarter: Quarter, through: date) -> None:
    compare(session, quarter, through)


def test_summaries_hold_the_hand_computed_quarter(session: Session, quarter: Quarter) -> None:
    clear(session)
    refresh(session, since=date(2026, 1, 1), now=NOW)
    assert summarised_through(session) == date(2026, 10, 8)  # yesterday: today is never summarised
    q3 = figures(session, principal=quarter.supervisor, filters=quarter.filters(), now=NOW)
    assert (q3.count("submitted"), q3.count("concluded"), q3.count("on_time"), q3.days.median) == (8, 4, 3, 3.5)
    for span in ("d", "m"):  # the days, and the months rolled up from them
        rows = session.execute(select(func.sum(CaseDay.concluded), func.sum(CaseDay.submitted)).where(
            CaseDay.span == span, CaseDay.region_id == quarter.city.region.id, CaseDay.day <= date(2026, 9, 30))).one()
        assert tuple(rows) == (4, 8)


def random_history(session: Session, quarter: Quarter, rng: random.Random, n: int, first: date, days: int) -> None:
    """``n`` cases with random channels, fates and pauses, all operations at random working-hour times."""
    b, s, city = Build(session, quarter.city), session, quarter.city
    staffing, office = city.principal(s, "staffing"), city.principal(s, "office")
    for _ in range(n):
        day = first + timedelta(days=rng.randrange(days))
        when = at(day.month, day.day, rng.randrange(0, 10), rng.randrange(60))
        matter = quarter.immediate if rng.random() < 0.2 else quarter.two_step
        channel = rng.choice(["web", "mobile", "api", "counter", "oa"])
        if rng.random() < 0.1:
            case_id = b.submit(matter, when, channel, accept=False)
            service.reject_case(s, principal=b.handling(matter), case_id=case_id, reason="不予受理", now=when)
            continue
        case_id = b.submit(matter, when, channel)
        steps = 1 if matter is quarter.immediate else 2
        for step in range(steps):
            when += timedelta(hours=rng.choice([3, 20, 50, 100, 200]))
            if matter is quarter.two_step and step == 0 and rng.random() < 0.2:
                service.request_supplement(s, principal=staffing, case_id=case_id, items=[{"note": "补充"}], now=when)
                when += timedelta(hours=rng.choice([5, 30, 80]))
                service.resubmit_case(s, principal=office, case_id=case_id, form={"title": f"补正{rng.random()}"},
                                      now=when)
                when += timedelta(hours=1)
            if rng.random() < 0.1 and step < steps:
                return_open(s, rng, case_id, when)
                break
            b.step(case_id, when)
            if step == 0 and steps == 2 and rng.random() < 0.15:  # 撤回 the review before the sign acts
                [done] = [t for t in tasks(s, case_id, None) if t.state == "completed"][-1:]
                service.withdraw_decision(s, principal=holder(s, done), task_id=done.id,
                                          now=when + timedelta(minutes=5))
                b.step(case_id, when + timedelta(hours=2))
        else:
            if rng.random() < 0.85:
                b.conclude(matter, case_id, when + timedelta(minutes=30), rng.choice(["granted", "denied"]))


def return_open(session: Session, rng: random.Random, case_id: int, when: Any) -> None:
    """Leave the case open: a sign step returns to the review (its step closed as returned)."""
    [task] = tasks(session, case_id)
    if task.node_id == "sign":
        service.return_task(session, principal=holder(session, task), task_id=task.id, target="review",
                            reason="退回重审", now=when)


@pytest.mark.parametrize("seed", [1, 2])
def test_random_operations_then_a_stale_summary(session: Session, quarter: Quarter, seed: int) -> None:
    rng = random.Random(seed)
    random_history(session, quarter, rng, 40, date(2026, 6, 20), 100)
    through = date(2026, 6, 20) + timedelta(days=rng.randrange(10, 90))
    compare(session, quarter, through)
    # more work after the refresh, inside days not yet summarised: still exact, the rest read directly
    random_history(session, quarter, rng, 10, through + timedelta(days=1), 5)
    f = Filters(period=parse_period("2026"))
    with_summary = figures(session, principal=quarter.reform, filters=f, now=NOW).model_dump(exclude={"as_of"})
    clear(session)
    assert figures(session, principal=quarter.reform, filters=f, now=NOW).model_dump(exclude={"as_of"}) == with_summary


def test_one_matter_under_two_units_on_the_same_days(session: Session, quarter: Quarter) -> None:
    """What a 机构改革 leaves behind: a matter's closed cases stay with the unit that handled them while its later
    (and moved) cases belong to the successor — so one day holds one matter under two handling units."""
    random_history(session, quarter, random.Random(7), 30, date(2026, 7, 1), 40)
    moved = session.scalars(select(Case.id).where(Case.local_matter_id == quarter.two_step.id)
                            .order_by(Case.id)).all()[::2]
    assert moved
    session.execute(update(Case).where(Case.id.in_(moved)).values(handling_unit_id=quarter.city.units["finance"].id))
    compare(session, quarter, date(2026, 9, 30))
    units = set(session.scalars(select(CaseDay.handling_unit_id).where(CaseDay.local_matter_id == quarter.two_step.id)))
    assert len(units) == 2  # both units' rows kept apart, not one attributed with the other's cases
