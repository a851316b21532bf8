"""Counting the figures of ``measures`` in as few queries as the anchors allow, whole or grouped.

One query per case anchor (submitted, accepted, concluded, now) with one conditional sum per figure, plus the
sums the day figures need; one query per related figure (cards, urges, orders, ratings). A group column
(the handling unit, the region) turns the same queries into a ranking's rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from xietong.cases.models import Case
from xietong.monitor.filters import Filters
from xietong.monitor.measures import MEASURES, Measure, Window, anchor_clause
from xietong.oversight.models import OversightOrder, Urge

CASE_ANCHORS = ("submitted", "accepted", "concluded", "now")
#: sums over concluded cases besides the counts: working days used, and the legal limits of promised matters
DAY_SUMS = ("days_sum", "days_cases", "timed_days_sum", "timed_legal_sum", "timed_cases")


@dataclass
class Tally:
    """The counts of one group (or of everything): figure key → number, plus the day sums."""

    counts: dict[str, int] = field(default_factory=dict)
    sums: dict[str, int] = field(default_factory=dict)
    urges: int = 0
    supervision_orders: int = 0

    def count(self, key: str) -> int:
        return self.counts.get(key, 0)


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
    group: ColumnElement[int] | None = None,
    keys: frozenset[str] | None = None,
) -> dict[int | None, Tally]:
    """Every figure (or those in ``keys``) for the cases in ``scope`` matching ``filters``, per group value."""
    result: dict[int | None, Tally] = defaultdict(Tally)
    where = [scope, *filters.case_clauses()]
    head = [group.label("g")] if group is not None else []
    chosen = [m for m in MEASURES if keys is None or m.key in keys]
    for anchor in CASE_ANCHORS:
        measures = [m for m in chosen if m.anchor == anchor]
        if not measures:
            continue
        columns = [_sum(m.condition(window) if m.condition else None).label(m.key) for m in measures]
        if anchor == "concluded":
            columns += _day_sums()
        query = select(*head, *columns).select_from(Case).where(*where, anchor_clause(anchor, window))
        if group is not None:
            query = query.group_by(group)
        for row in session.execute(query).mappings():
            tally = result[row["g"] if group is not None else None]
            for m in measures:
                tally.counts[m.key] = int(row[m.key])
            if anchor == "concluded":
                tally.sums.update({k: int(row[k]) for k in DAY_SUMS})
    for m in (m for m in chosen if m.anchor == "related"):
        _related(session, m, where, window, head, group, result)
    if keys is None or "urged" in keys:
        _totals(session, where, window, head, group, result)
    return result


def _related(
    session: Session, m: Measure, where: list[ColumnElement[bool]], window: Window, head: list[Any],
    group: ColumnElement[int] | None, result: dict[int | None, Tally],
) -> None:
    query = select(*head, func.count().label("n")).select_from(Case).where(*where, m.clause(window))
    if group is not None:
        query = query.group_by(group)
    for row in session.execute(query).mappings():
        result[row["g"] if group is not None else None].counts[m.key] = int(row["n"])


def _totals(
    session: Session, where: list[ColumnElement[bool]], window: Window, head: list[Any],
    group: ColumnElement[int] | None, result: dict[int | None, Tally],
) -> None:
    """Urges and supervision orders counted as such (a case urged twice counts twice here)."""
    urges = (
        select(*head, func.count().label("n")).select_from(Urge).join(Case, Case.id == Urge.case_id)
        .where(*where, Urge.at >= window.start, Urge.at < window.end)
    )
    orders = (
        select(*head, func.count().label("n")).select_from(OversightOrder)
        .join(Case, Case.id == OversightOrder.case_id)
        .where(*where, OversightOrder.kind == "supervision", OversightOrder.created_at >= window.start,
               OversightOrder.created_at < window.end)
    )
    if group is not None:
        urges, orders = urges.group_by(group), orders.group_by(group)
    for row in session.execute(urges).mappings():
        result[row["g"] if group is not None else None].urges = int(row["n"])
    for row in session.execute(orders).mappings():
        result[row["g"] if group is not None else None].supervision_orders = int(row["n"])


def median_days(session: Session, *, scope: ColumnElement[bool], filters: Filters, window: Window) -> float | None:
    """The exact median of working days used over the period's concluded cases (from their histogram)."""
    query = (
        select(Case.working_days_used, func.count())
        .where(scope, *filters.case_clauses(), anchor_clause("concluded", window), Case.working_days_used.is_not(None))
        .group_by(Case.working_days_used)
        .order_by(Case.working_days_used)
    )
    histogram = [(int(days), int(n)) for days, n in session.execute(query)]
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
