"""Every figure of 2026Q3 against the hand-computed expectations of tests/monitor/conftest.py."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.monitor.conftest import NOW, Quarter
from xietong.errors import Forbidden
from xietong.monitor.figures import figures, promised_speed_up, ranking
from xietong.monitor.filters import Filters, parse_period
from xietong.monitor.measures import MEASURES

EXPECTED_COUNTS = {
    "submitted": 8,  # A B C C2 D E F H
    "online": 7,  # all but B (counter)
    "mobile": 2,  # C C2
    "accepted": 7,  # all but F (rejected)
    "concluded": 4,  # A B C H (C2 concluded at 00:30 on 1 October, local time)
    "granted": 3,
    "denied": 1,
    "on_time": 3,  # A C H
    "late": 1,  # B: due moved to 07-16 by its 补正, concluded 07-20
    "zero_trip": 3,
    "immediate_concluded": 1,  # H
    "in_progress": 2,  # D (suspended) E
    "paused_now": 1,  # D
    "overdue_now": 1,  # E
    "yellow_now": 0,  # E's yellow card became red
    "red_now": 1,
    "yellow_cards": 1,
    "red_cards": 1,
    "urged": 1,  # B
    "supervised": 1,  # E
    "supervision_overdue": 0,
    "supervision_open": 1,
    "rated": 2,  # A B
    "satisfied": 1,
    "dissatisfied": 1,
    "rectifications": 1,  # B's
    "rectified_on_time": 1,
}


def test_every_count_of_the_quarter(session: Session, quarter: Quarter) -> None:
    result = figures(session, principal=quarter.supervisor, filters=quarter.filters(), now=NOW)
    assert {c.key: c.value for c in result.counts} == EXPECTED_COUNTS
    assert set(EXPECTED_COUNTS) == {m.key for m in MEASURES}
    assert (result.urges, result.supervision_orders) == (1, 1)


def test_rates_days_and_speed_up(session: Session, quarter: Quarter) -> None:
    result = figures(session, principal=quarter.supervisor, filters=quarter.filters(), now=NOW)
    rates = {r.key: (r.numerator, r.denominator, r.value) for r in result.rates}
    assert rates["on_time_rate"] == (3, 4, 0.75)
    assert rates["online_rate"] == (7, 8, 0.875)
    assert rates["mobile_rate"] == (2, 8, 0.25)
    assert rates["zero_trip_rate"] == (3, 4, 0.75)
    assert rates["satisfaction"] == (1, 2, 0.5)
    assert rates["bad_rating_rate"] == (1, 2, 0.5)
    assert rates["rectification_on_time_rate"] == (1, 1, 1.0)
    # A 4 + B 7 + C 3 working days used over 3 × 10 legal days; H (immediate) stays out
    assert rates["actual_speed_up"][:2] == (14, 30)
    assert rates["actual_speed_up"][2] == pytest.approx(1 - 14 / 30)
    # working days used: H 0, C 3 (holidays 25–27 September skipped), A 4, B 7 (three paused days out)
    assert (result.days.cases, result.days.average, result.days.median) == (4, 3.5, 3.5)
    # the catalogue is public: its figure follows the filters, not the supervisor's scope
    in_region = figures(session, principal=quarter.supervisor, filters=quarter.filters(
        region_id=quarter.city.region.id), now=NOW)
    assert in_region.promised_speed_up.model_dump() == {
        "matters": 1, "promised_sum": 5, "legal_sum": 10, "value": 0.5, "immediate_matters": 1,
    }


def test_the_next_quarter_holds_the_case_concluded_after_local_midnight(session: Session, quarter: Quarter) -> None:
    q4 = figures(session, principal=quarter.supervisor, filters=Filters(period=parse_period("2026Q4")), now=NOW)
    assert (q4.count("concluded"), q4.count("submitted"), q4.days.median) == (1, 0, 3)


def test_scope_follows_the_supervisory_grant(session: Session, quarter: Quarter) -> None:
    # (the reform office sees everything: committed data of other tests too, so count its two regions)
    both = [figures(session, principal=quarter.reform, filters=quarter.filters(region_id=c.region.id), now=NOW)
            for c in (quarter.city, quarter.other)]
    assert [(f.count("submitted"), f.count("in_progress")) for f in both] == [(8, 2), (1, 1)]  # G as well
    other = figures(session, principal=quarter.other_supervisor, filters=quarter.filters(), now=NOW)
    assert (other.count("submitted"), other.count("accepted"), other.count("concluded")) == (1, 1, 0)
    with pytest.raises(Forbidden):
        figures(session, principal=quarter.city.principal(session, "staffing"), filters=quarter.filters(), now=NOW)


def test_filters_by_region_unit_and_matter(session: Session, quarter: Quarter) -> None:
    def counts(**kwargs: int) -> tuple[int, int, int]:
        result = figures(session, principal=quarter.reform, filters=quarter.filters(**kwargs), now=NOW)
        return result.count("submitted"), result.count("concluded"), result.count("on_time")

    assert counts(region_id=quarter.other.region.id) == (1, 0, 0)
    assert counts(region_id=quarter.city.region.id) == (8, 4, 3)
    assert counts(unit_id=quarter.city.units["staffing"].id) == (7, 3, 2)
    assert counts(unit_id=quarter.city.units["finance"].id) == (1, 1, 1)
    assert counts(local_matter_id=quarter.immediate.id) == (1, 1, 1)
    assert counts(local_matter_id=quarter.two_step.id) == (7, 3, 2)


def test_units_and_regions_ranked(session: Session, quarter: Quarter) -> None:
    units = ranking(session, principal=quarter.supervisor, filters=quarter.filters(), by="unit", now=NOW)
    rows = [(r.rank, r.id, r.concluded, r.on_time, r.overdue_now, r.red_cards) for r in units.rows]
    finance, staffing = quarter.city.units["finance"].id, quarter.city.units["staffing"].id
    assert rows == [(1, finance, 1, 1, 0, 0), (2, staffing, 3, 2, 1, 1)]
    assert units.rows[1].on_time_rate == pytest.approx(2 / 3)
    assert units.rows[1].average_days == pytest.approx(14 / 3)
    assert units.rows[1].satisfaction == 0.5
    regions = ranking(session, principal=quarter.reform, filters=quarter.filters(), by="region", now=NOW)
    ours = {quarter.city.region.id, quarter.other.region.id}  # others are other tests' committed regions
    assert [(r.id, r.submitted, r.concluded) for r in regions.rows if r.id in ours] == [
        (quarter.city.region.id, 8, 4), (quarter.other.region.id, 1, 0)]


def test_promised_speed_up_counts_the_catalogue_of_the_filters(session: Session, quarter: Quarter) -> None:
    other = promised_speed_up(session, filters=quarter.filters(region_id=quarter.other.region.id))
    assert (other.matters, other.promised_sum, other.legal_sum, other.value) == (1, 5, 10, 0.5)
