"""Dwell time per step, counted for the unit that held the step, and the cards of open cases now."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.monitor.conftest import NOW, Quarter
from xietong.monitor.steps import bottlenecks, cards_now


def test_steps_closed_in_the_quarter_by_the_unit_that_held_them(session: Session, quarter: Quarter) -> None:
    result = bottlenecks(session, principal=quarter.supervisor, filters=quarter.filters(), now=NOW)
    rows = {(r.local_matter_id, r.node_id, r.unit_id): r for r in result.rows}
    units = quarter.city.units
    review = rows[(quarter.two_step.id, "review", units["finance"].id)]
    # A 1 and 1 (before and after the return), B 9 (07-06 → 07-17; a step's days do not skip the case's pause),
    # C 1 and C2 1 (09-24 → 09-28 over the holidays)
    assert (review.closed, review.average_days, review.max_days) == (5, pytest.approx(13 / 5), 9)
    assert review.open_now == 2  # D (suspended) and E
    sign = rows[(quarter.two_step.id, "sign", units["hr_social"].id)]
    # A 1 (returned) and 1, B 1, C 2, C2 2
    assert (sign.closed, sign.average_days, sign.max_days, sign.open_now) == (5, pytest.approx(7 / 5), 2, 0)
    handle = rows[(quarter.immediate.id, "handle", units["finance"].id)]
    assert (handle.closed, handle.average_days) == (1, 0)
    assert [r.node_id for r in result.rows] == ["review", "sign", "handle"]  # longest first


def test_the_unit_filter_picks_the_unit_that_held_the_step(session: Session, quarter: Quarter) -> None:
    finance = quarter.city.units["finance"].id
    result = bottlenecks(session, principal=quarter.supervisor, filters=quarter.filters(unit_id=finance), now=NOW)
    assert {(r.node_id, r.unit_id) for r in result.rows} == {("review", finance), ("handle", finance)}


def test_cards_now_per_handling_unit(session: Session, quarter: Quarter) -> None:
    result = cards_now(session, principal=quarter.supervisor, filters=quarter.filters(), now=NOW)
    assert (result.yellow, result.red, result.overdue) == (0, 1, 1)
    assert [(u.id, u.red, u.overdue) for u in result.units] == [(quarter.city.units["staffing"].id, 1, 1)]
