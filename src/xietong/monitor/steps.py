"""Dwell time per step (bottlenecks) and the cards of open cases now, per unit.

A step counts for the unit that held it (``task.unit_id``), so a parallel review by three departments ranks
each on its own step. A closed step is one a person decided, returned or transferred in the period (its
``working_days`` recorded then) — also a decision later withdrawn, which held the case until then; cancelled
steps (cut off by a return elsewhere, or by a withdrawal) held nobody's work to the end. Closed days come
from ``monitor_step_day`` where summarised (``monitor.summary``).
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, Integer, Select, and_, case, cast, func, literal_column, null, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql import visitors

from xietong.cases.models import Case
from xietong.catalog.models import LocalMatter
from xietong.directory.models import Unit
from xietong.engine.models import Task
from xietong.monitor.access import monitor_scope
from xietong.monitor.figures import window_of
from xietong.monitor.filters import Filters
from xietong.monitor.measures import RUNNING, anchor_clause
from xietong.monitor.schemas import Bottlenecks, CardRow, CardsNow, StepRow
from xietong.monitor.summary import CLOSED_STEPS, STEP_DAY, Held, adapt, day_range, split, summarised_through
from xietong.security.principal import Principal


def _step_clauses(filters: Filters) -> list[object]:
    """Region and matter on the case; the unit on the step (the unit that held it)."""
    clauses: list[object] = []
    if filters.region_id is not None:
        clauses.append(Case.region_id == filters.region_id)
    if (matter := filters.matter_clause(Case.local_matter_id)) is not None:
        clauses.append(matter)
    if filters.unit_id is not None:
        clauses.append(Task.unit_id == filters.unit_id)
    return clauses


def bottlenecks(
    session: Session, *, principal: Principal, filters: Filters, now: datetime | None = None, limit: int = 50
) -> Bottlenecks:
    """Steps by average working days held, longest first (closed in the period; open and overdue now).

    The closed steps of the summarised days, those of the days after them and the open steps are one
    ``UNION ALL`` grouped, ranked and cut to ``limit`` by the database: a year holds some 10,000 steps
    (matter × step × unit), and handing each to Python to rank cost most of the time."""
    scope, window = monitor_scope(principal), window_of(filters, now)
    parts: list[Select[Any]] = []
    held, direct_from = split(filters.period.first, filters.period.last, summarised_through(session))
    if held is not None:
        parts.append(_closed_from_summary(scope, filters, held))
    if direct_from is not None:
        start = datetime.combine(direct_from, time(0), tzinfo=ZoneInfo(filters.tz)).astimezone(UTC)
        parts.append(_closed_direct(scope, filters, max(start, window.start), window.end))
    parts.append(_open_now(scope, filters, window.now))
    steps = union_all(*parts).subquery()
    c = steps.c
    average = cast(func.sum(c.days_sum), Float) / func.nullif(func.sum(c.days_n), 0)
    node = c.node_id.collate("C") if session.get_bind().dialect.name == "postgresql" else c.node_id
    query = (
        select(c.local_matter_id, c.node_id, c.unit_id, func.max(c.name).label("name"),
               *(func.sum(c[k]).label(k) for k in _SUMS), func.max(c.max_days).label("max_days"))
        .group_by(c.local_matter_id, c.node_id, c.unit_id)
        # as Python would sort (−average or 0, −overdue open, key); node ids in code-point order on PostgreSQL too
        .order_by(func.coalesce(average, 0).desc(), func.sum(c.overdue_open).desc(), c.local_matter_id, node,
                  c.unit_id)
        .limit(limit)
    )
    ranked = session.execute(query).mappings().all()
    matters = _lookup(session, LocalMatter, {r["local_matter_id"] for r in ranked})
    units = _lookup(session, Unit, {r["unit_id"] for r in ranked})
    return Bottlenecks(filters=filters.described(), as_of=window.now, rows=[
        StepRow(local_matter_id=r["local_matter_id"], matter_name=matters.get(r["local_matter_id"], ""),
                node_id=r["node_id"], unit_id=r["unit_id"], unit_name=units.get(r["unit_id"], ""),
                step_name=r["name"], closed=int(r["closed"]),
                average_days=r["days_sum"] / r["days_n"] if r["days_n"] else None, max_days=r["max_days"],
                overdue_closed=int(r["overdue_closed"]), open_now=int(r["open_now"]),
                overdue_open=int(r["overdue_open"]))
        for r in ranked
    ])


#: what each part of the union gives per (matter, step, holding unit), besides the name and the longest
_SUMS = ("closed", "days_sum", "days_n", "overdue_closed", "open_now", "overdue_open")
_NONE = literal_column("0")


def _part(key: tuple[Any, Any, Any], name: Any, **columns: Any) -> Select[Any]:
    sums = [columns.get(k, _NONE).label(k) for k in _SUMS]
    longest = columns.get("max_days", cast(null(), Integer)).label("max_days")
    return select(*(k.label(label) for k, label in zip(key, ("local_matter_id", "node_id", "unit_id"), strict=True)),
                  name.label("name"), *sums, longest)


def _closed_direct(scope: Any, filters: Filters, start: datetime, end: datetime) -> Select[Any]:
    key = (Case.local_matter_id, Task.node_id, Task.unit_id)
    late = func.coalesce(func.sum(case((Task.completed_at > Task.due_at, 1), else_=0)), 0)
    return (
        _part(key, func.max(Task.name), closed=func.count(), days_sum=func.coalesce(func.sum(Task.working_days), 0),
              days_n=func.count(Task.working_days), max_days=func.max(Task.working_days), overdue_closed=late)
        .join(Case, Case.id == Task.case_id)
        .where(scope, *_step_clauses(filters), Task.state.in_(CLOSED_STEPS),
               Task.completed_at >= start, Task.completed_at < end)
        .group_by(*key)
    )


def _closed_from_summary(scope: Any, filters: Filters, held: Held) -> Select[Any]:
    t = STEP_DAY
    clauses = [adapt(c, t) for c in (scope, *_step_clauses(filters)) if not _on_task(c)]
    if filters.unit_id is not None:
        clauses.append(t.c.unit_id == filters.unit_id)
    return _part(
        (t.c.local_matter_id, t.c.node_id, t.c.unit_id), t.c.name, closed=t.c.closed, days_sum=t.c.days_sum,
        days_n=t.c.days_n, max_days=t.c.max_days, overdue_closed=t.c.overdue_closed,
    ).where(*clauses, day_range(t, held))


def _open_now(scope: Any, filters: Filters, now: datetime) -> Select[Any]:
    key = (Case.local_matter_id, Task.node_id, Task.unit_id)
    late = func.coalesce(func.sum(case((Task.due_at < now, 1), else_=0)), 0)
    return (
        _part(key, func.max(Task.name), open_now=func.count(), overdue_open=late)
        .join(Case, Case.id == Task.case_id)
        .where(scope, *_step_clauses(filters), Task.state == "open")
        .group_by(*key)
    )


def _on_task(clause: Any) -> bool:
    """Whether a filter clause reads the task (the unit that held the step), not the case."""
    return any(getattr(c, "table", None) is Task.__table__ for c in visitors.iterate(clause))


def _lookup(session: Session, model: type[LocalMatter] | type[Unit], ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {i: n for i, n in session.execute(select(model.id, model.name).where(model.id.in_(ids)))}


def cards_now(
    session: Session, *, principal: Principal, filters: Filters, now: datetime | None = None
) -> CardsNow:
    """Open cases with a yellow or red card, and those past due, now — per handling unit and in all."""
    scope, window = monitor_scope(principal), window_of(filters, now)
    overdue = and_(Case.status.in_(RUNNING), Case.due_at.is_not(None), Case.due_at < window.now)
    query = (
        select(
            Case.handling_unit_id, Unit.name,
            func.coalesce(func.sum(case((Case.card == "yellow", 1), else_=0)), 0),
            func.coalesce(func.sum(case((Case.card == "red", 1), else_=0)), 0),
            func.coalesce(func.sum(case((overdue, 1), else_=0)), 0),
        )
        .join(Unit, Unit.id == Case.handling_unit_id)
        .where(scope, *filters.case_clauses(), anchor_clause("now", window))
        .group_by(Case.handling_unit_id, Unit.name)
    )
    units = [CardRow(id=i, name=n, yellow=y, red=r, overdue=o) for i, n, y, r, o in session.execute(query)]
    units = [u for u in units if u.yellow or u.red or u.overdue]
    units.sort(key=lambda u: (-u.red, -u.overdue, -u.yellow, u.name))
    return CardsNow(
        as_of=window.now, yellow=sum(u.yellow for u in units), red=sum(u.red for u in units),
        overdue=sum(u.overdue for u in units), units=units,
    )
