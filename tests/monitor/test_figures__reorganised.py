"""按改革后单位合并: a ranking over a period spanning a merge shows the merged-away units within their successor,
and the folded row is exactly the sum of the rows it replaces (its rates recomputed from the summed parts)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from tests.monitor.conftest import NOW, Quarter
from tests.oversight.helpers import overseer
from xietong.directory.service.reorganisation import ReorganisationIn, execute
from xietong.monitor.figures import ranking, ratio

COUNTS = ("submitted", "concluded", "on_time", "overdue_now", "red_cards", "rated")


@contextmanager
def savepoint(session: Session) -> Iterator[Session]:
    with session.begin_nested():
        yield session


def test_folded_ranking_equals_the_sum_of_its_parts(session: Session, quarter: Quarter) -> None:
    city = quarter.city
    staffing, finance = city.units["staffing"], city.units["finance"]
    admin = overseer(session, city, role="system_admin")
    spec = ReorganisationIn(kind="merge", units=[staffing.code, finance.code], reason="机构改革",
                            successor={"code": f"{city.region.code}.merged", "name": "财政和编制局"})
    log = execute(lambda: savepoint(session), principal=admin, spec=spec)
    assert log.failed == []

    filters = quarter.filters()
    apart = ranking(session, principal=quarter.supervisor, filters=filters, now=NOW)
    together = ranking(session, principal=quarter.supervisor, filters=filters, now=NOW, fold_reorganised=True)
    assert (apart.folded, together.folded) == (False, True)
    rows = {r.name: r for r in apart.rows}
    assert {staffing.name, finance.name, "财政和编制局"} <= set(rows)  # per historical unit without the option
    parts = [rows[staffing.name], rows[finance.name], rows["财政和编制局"]]
    [merged] = [r for r in together.rows if r.name == "财政和编制局"]
    assert sorted(merged.folded) == sorted([staffing.name, finance.name])
    assert staffing.name not in {r.name for r in together.rows}
    for key in COUNTS:
        assert getattr(merged, key) == sum(getattr(p, key) for p in parts), key
    assert merged.submitted > 0 and merged.concluded > 0
    assert merged.on_time_rate == ratio(sum(p.on_time for p in parts), sum(p.concluded for p in parts))
    others = {r.name: r for r in together.rows if r.name != "财政和编制局"}
    assert all(others[n] == rows[n].model_copy(update={"rank": others[n].rank}) for n in others)
