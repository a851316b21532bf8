"""Every figure drills down to exactly the cases it counts, page by page, under the same filters and scope."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.monitor.conftest import NOW, Quarter
from xietong.errors import InvalidInput
from xietong.monitor.drilldown import drilldown, worst_overdue
from xietong.monitor.figures import figures
from xietong.monitor.measures import MEASURES
from xietong.monitor.schemas import CaseRow


def every_case(session: Session, quarter: Quarter, figure: str, **filters: int) -> list[CaseRow]:
    rows, cursor = [], None
    while True:
        page = drilldown(session, principal=quarter.reform, filters=quarter.filters(**filters), figure=figure,
                         limit=2, cursor=cursor, with_total=True, now=NOW)
        rows += page.items
        cursor = page.next_cursor
        if cursor is None:
            return rows


@pytest.mark.parametrize("filters", [{}, {"unit": "staffing"}, {"unit": "finance"}])
def test_each_figure_lists_as_many_cases_as_it_counts(session: Session, quarter: Quarter, filters: dict) -> None:
    kwargs = {"unit_id": quarter.city.units[filters["unit"]].id} if filters else {}
    totals = figures(session, principal=quarter.reform, filters=quarter.filters(**kwargs), now=NOW)
    for m in MEASURES:
        rows = every_case(session, quarter, m.key, **kwargs)
        assert len(rows) == len({r.id for r in rows}) == totals.count(m.key), m.key


def test_the_lists_hold_the_expected_cases(session: Session, quarter: Quarter) -> None:
    def ids(figure: str) -> set[int]:
        return {r.id for r in every_case(session, quarter, figure, region_id=quarter.city.region.id)}

    assert ids("on_time") == quarter.ids("A", "C", "H")
    assert ids("late") == quarter.ids("B")
    assert ids("overdue_now") == quarter.ids("E")
    assert ids("paused_now") == quarter.ids("D")
    assert ids("mobile") == quarter.ids("C", "C2")
    assert ids("dissatisfied") == ids("rectifications") == quarter.ids("B")


def test_overdue_working_days_of_the_worst_cases(session: Session, quarter: Quarter) -> None:
    [late] = worst_overdue(session, principal=quarter.supervisor, filters=quarter.filters(), figure="late", now=NOW)
    assert (late.id, late.overdue_working_days) == (quarter.cases["B"], 2)  # due Thu 07-16, concluded Mon 07-20
    [open_] = worst_overdue(session, principal=quarter.supervisor, filters=quarter.filters(), figure="overdue_now",
                            now=NOW)
    # due Wed 07-15; working days Thu 07-16 … Fri 10-09: July 12, August 21, September 21 weekdays without
    # 中秋 (Fri 09-25) plus the make-up Sunday 09-20 = 22, October 2 (after 国庆) — 57
    assert open_.id == quarter.cases["E"] and open_.overdue_working_days == 57


def test_an_unknown_figure_is_refused(session: Session, quarter: Quarter) -> None:
    with pytest.raises(InvalidInput) as error:
        drilldown(session, principal=quarter.reform, filters=quarter.filters(), figure="nonsense", now=NOW)
    assert error.value.code == "unknown_figure"
