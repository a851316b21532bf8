"""Counting the figures of ``measures`` in as few queries as the anchors allow, whole or grouped.

One query per case anchor (submitted, accepted, concluded, now) with one conditional sum per figure, plus the
sums the day figures need; one query per related figure (cards, urges, orders, ratings). A group column
(the handling unit, the region) turns the same queries into a ranking's rows; several group columns (the handling
unit and the region at once) give the rows every ranking and the whole are sums of, since a case is in one group.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, distinct, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import True_

from xietong.cases.models import Case
from xietong.monitor.filters import Filters
from xietong.monitor.measures import MEASURES, Measure, Window, anchor_clause
from xietong.monitor.summary import CASE_DAY, DAYS_DAY, adapt, day_range, split, summarised_through
from xietong.oversight.models import OversightOrder, Urge

CASE_ANCHORS = ("submitted", "accepted", "concluded", "now")
SUMMARISED = frozenset({"submitted", "accepted", "concluded"})  # anchors whose closed days are in monitor_case_day
SUMMARISED_RELATED = frozenset({"rated", "satisfied", "dissatisfied"})  # ratings: one per case, kept by day
#: sums over concluded cases besides the counts: working days used, and the legal limits of promised matters
DAY_SUMS = ("days_sum", "days_cases", "timed_days_sum", "timed_legal_sum", "timed_cases")


@dataclass
class Tally:
    """The counts of one group (or of everything): figure key → number, plus the day sums."""

    counts: dict[str, int] = field(default_factory=dict)
    sums: dict[str, int] = field(default_factory=dict)
    urges: int = 0
    supervision_orders: int = 0
    #: the figures whose query found this group (a ranking lists the groups its own figures' queries found)
    seen: set[str] = field(default_factory=set)

    def count(self, key: str) -> int:
        return self.counts.get(key, 0)

    def add(self, other: Tally) -> None:
        """Add another group's tally to this one (exact for every figure: each case is in one group)."""
        for key, n in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + n
        for key, n in other.sums.items():
            self.sums[key] = self.sums.get(key, 0) + n
        self.urges += other.urges
        self.supervision_orders += other.supervision_orders
        self.seen |= other.seen


#: one case column to group by, several (the result is keyed by tuples), or none (keyed by None)
Group = ColumnElement[int] | tuple[ColumnElement[int], ...] | None


def _sum(condition: ColumnElement[bool] | None) -> Any:
    return func.count() if condition is None else func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _day_sums() -> list[Any]:
    timed = Case.legal_limit_days > 0
    used = Case.working_days_used
    return [
        func.coalesce(func.sum(used), 0).label("days_sum"),
        func.count(used).label("days_cases"),
        func.coalesce(func.sum(case((timed, used), else_=None)), 0).label("timed_days_sum"),
        func.coalesce(func.sum(case((timed & used.is_not(None), Case.legal_limit_days), else_=None)), 0)
        .label("timed_legal_sum"),
        func.coalesce(func.sum(case((timed & used.is_not(None), 1), else_=0)), 0).label("timed_cases"),
    ]


def tallies(
    session: Session,
    *,
    scope: ColumnElement[bool],
    filters: Filters,
    window: Window,
    group: Group = None,
    keys: frozenset[str] | None = None,
) -> dict[Any, Tally]:
    """Every figure (or those in ``keys``) for the cases in ``scope`` matching ``filters``, per group value.

    The case anchors' days up to the summaries' last day are read from ``monitor_case_day``, the rest from
    the cases (``monitor.summary``); everything else straight from the cases.
    """
    result: dict[Any, Tally] = defaultdict(Tally)
    where = [scope, *filters.case_clauses()]
    chosen = [m for m in MEASURES if keys is None or m.key in keys]
    held, direct_from = split(filters.period.first, filters.period.last, summarised_through(session))
    summarised = [m for m in chosen if m.anchor in SUMMARISED or m.key in SUMMARISED_RELATED]
    if held is not None and summarised:
        _from_summary(session, summarised, where, held, group, result)
    for anchor in CASE_ANCHORS:
        measures = [m for m in chosen if m.anchor == anchor]
        if not measures:
            continue
        if anchor in SUMMARISED:
            if direct_from is None:
                continue
            _direct(session, anchor, measures, where, _after(window, direct_from, filters.tz), group, result)
        else:
            _direct(session, anchor, measures, where, window, group, result)
    for m in (m for m in chosen if m.anchor == "related"):
        if m.key not in SUMMARISED_RELATED:
            _related(session, m, where, window, group, result)
        elif direct_from is not None:
            _related(session, m, where, _after(window, direct_from, filters.tz), group, result)
    if keys is None or "urged" in keys:
        _totals(session, where, window, group, result)
    return result


def fold(groups: dict[Any, Tally], successors: dict[int, int]) -> dict[Any, Tally]:
    """按改革后单位合并: each merged-away unit's tally added into its successor's. Exact, because every count and
    sum here is additive over cases and a case has one handling unit, so no case is counted in two groups."""
    out: dict[Any, Tally] = defaultdict(Tally)
    for key, tally in groups.items():
        out[successors.get(key, key) if key is not None else None].add(tally)
    return dict(out)


def _columns(group: Group) -> tuple[ColumnElement[int], ...]:
    if group is None:
        return ()
    return group if isinstance(group, tuple) else (group,)


def _head(columns: tuple[Any, ...]) -> list[Any]:
    return [c.label(f"g{i}") for i, c in enumerate(columns)]


def _key(row: Any, group: Group) -> Any:
    """The result's key of a row: None ungrouped, the group value, or the tuple of the group values."""
    if group is None:
        return None
    return tuple(row[f"g{i}"] for i in range(len(group))) if isinstance(group, tuple) else row["g0"]


def _after(window: Window, first: date, tz: str) -> Window:
    """The window from local midnight of ``first`` to the period's end."""
    start = datetime.combine(first, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)
    return Window(start=max(start, window.start), end=window.end, now=window.now)


def _direct(
    session: Session, anchor: str, measures: list[Measure], where: list[ColumnElement[bool]], window: Window,
    group: Group, result: dict[Any, Tally],
) -> None:
    columns = [_sum(m.condition(window) if m.condition else None).label(m.key) for m in measures]
    if anchor == "concluded":
        columns += _day_sums()
    grouping = _columns(group)
    query = (select(*_head(grouping), *columns).select_from(Case).where(*where, anchor_clause(anchor, window))
             .group_by(*grouping))
    for row in session.execute(query).mappings():
        tally = result[_key(row, group)]
        for m in measures:
            tally.counts[m.key] = tally.counts.get(m.key, 0) + int(row[m.key])
            tally.seen.add(m.key)
        if anchor == "concluded":
            for k in DAY_SUMS:
                tally.sums[k] = tally.sums.get(k, 0) + int(row[k])


def _from_summary(
    session: Session, measures: list[Measure], where: list[ColumnElement[bool]], held: tuple[date, date],
    group: Group, result: dict[Any, Tally],
) -> None:
    table = CASE_DAY
    sums = list(DAY_SUMS) if any(m.anchor == "concluded" for m in measures) else []
    columns = [func.coalesce(func.sum(table.c[m.key]), 0).label(m.key) for m in measures]
    columns += [func.coalesce(func.sum(table.c[k]), 0).label(k) for k in sums]
    grouping = tuple(adapt(c, table) for c in _columns(group))
    query = (select(*_head(grouping), *columns).where(*(adapt(w, table) for w in where), day_range(table, held))
             .group_by(*grouping))
    for row in session.execute(query).mappings():
        tally = result[_key(row, group)]
        for m in measures:
            tally.counts[m.key] = tally.counts.get(m.key, 0) + int(row[m.key])
            tally.seen.add(m.key)
        for k in sums:
            tally.sums[k] = tally.sums.get(k, 0) + int(row[k])


def _related(
    session: Session, m: Measure, where: list[ColumnElement[bool]], window: Window,
    group: Group, result: dict[Any, Tally],
) -> None:
    """Distinct cases of a related figure, counted from the related rows' side (the same cases as
    ``m.clause``, which drill-down lists, without probing every case of the scope)."""
    assert m.related is not None
    related = m.related(window).subquery()
    # "+ 0" on the group too: grouped by a bare case column, SQLite walks a county's cases in that column's index
    # order and scans the period's related rows for each one (a county's red cards of a quarter: 2 s, not 9 ms).
    grouping = tuple(c + 0 for c in _columns(group))
    query = select(*_head(grouping), func.count(distinct(related.c.case_id)).label("n"))
    if grouping or not _everything(where):
        # "+ 0": the related rows drive (their time index), each case found by its key. Given the case
        # side's region index, SQLite otherwise walks a county's every case and probes its events.
        query = query.select_from(related.join(Case, Case.id == related.c.case_id + 0)).where(*where)
    else:  # every case counts (the reform office, no filter): the related rows alone, a third of the time
        query = query.select_from(related)
    query = query.group_by(*grouping)
    for row in session.execute(query).mappings():
        tally = result[_key(row, group)]
        tally.counts[m.key] = tally.counts.get(m.key, 0) + int(row["n"])
        tally.seen.add(m.key)


def _everything(where: list[ColumnElement[bool]]) -> bool:
    """Whether the conditions are all plain TRUE (``supervised_cases`` of an "all" scope, no filter)."""
    return all(isinstance(w, True_) for w in where)


def _totals(
    session: Session, where: list[ColumnElement[bool]], window: Window, group: Group, result: dict[Any, Tally],
) -> None:
    """Urges and supervision orders counted as such (a case urged twice counts twice here)."""
    grouping = _columns(group)
    urges = (
        select(*_head(grouping), func.count().label("n")).select_from(Urge).join(Case, Case.id == Urge.case_id)
        .where(*where, Urge.at >= window.start, Urge.at < window.end).group_by(*grouping)
    )
    orders = (
        select(*_head(grouping), func.count().label("n")).select_from(OversightOrder)
        .join(Case, Case.id == OversightOrder.case_id)
        .where(*where, OversightOrder.kind == "supervision", OversightOrder.created_at >= window.start,
               OversightOrder.created_at < window.end)
        .group_by(*grouping)
    )
    for row in session.execute(urges).mappings():
        result[_key(row, group)].urges = int(row["n"])
    for row in session.execute(orders).mappings():
        result[_key(row, group)].supervision_orders = int(row["n"])


def median_days(session: Session, *, scope: ColumnElement[bool], filters: Filters, window: Window) -> float | None:
    """The exact median of working days used over the period's concluded cases (from their histogram)."""
    where = [scope, *filters.case_clauses()]
    counts: dict[int, int] = defaultdict(int)
    held, direct_from = split(filters.period.first, filters.period.last, summarised_through(session))
    if held is not None:
        table = DAYS_DAY
        query = (select(table.c.working_days, func.sum(table.c.cases))
                 .where(*(adapt(w, table) for w in where), day_range(table, held))
                 .group_by(table.c.working_days))
        for days, n in session.execute(query):
            counts[int(days)] += int(n)
    if direct_from is not None:
        rest = _after(window, direct_from, filters.tz)
        query = (
            select(Case.working_days_used, func.count())
            .where(*where, anchor_clause("concluded", rest), Case.working_days_used.is_not(None))
            .group_by(Case.working_days_used)
        )
        for days, n in session.execute(query):
            counts[int(days)] += int(n)
    return _median(sorted(counts.items()))


def _median(histogram: list[tuple[int, int]]) -> float | None:
    total = sum(n for _, n in histogram)
    if total == 0:
        return None
    wanted = (total - 1) // 2, total // 2  # the middle one, or the two middle ones
    values, seen = [], 0
    for days, n in histogram:
        for index in wanted:
            if seen <= index < seen + n:
                values.append(days)
        seen += n
    return sum(values) / 2
