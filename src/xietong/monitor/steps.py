"""Dwell time per step (bottlenecks) and the cards of open cases now, per unit.

A step counts for the unit that held it (``task.unit_id``), so a parallel review by three departments ranks
each on its own step. A closed step is one a person decided, returned or transferred in the period (its
``working_days`` recorded then) — also a decision later withdrawn, which held the case until then; cancelled
steps (cut off by a return elsewhere, or by a withdrawal) held nobody's work to the end. Closed days come
from ``monitor_step_day`` where summarised (``monitor.summary``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
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
from xietong.monitor.summary import CLOSED_STEPS, STEP_DAY, adapt, day_range, split, summarised_through
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
    """Steps by average working days held, longest first (closed in the period; open and overdue now)."""
    scope, window = monitor_scope(principal), window_of(filters, now)
    rows: dict[tuple[int, str, int], dict[str, Any]] = {}
    held, direct_from = split(filters.period.first, filters.period.last, summarised_through(session))
    if held is not None:
        _closed_from_summary(session, scope, filters, held, rows)
    if direct_from is not None:
        start = datetime.combine(direct_from, time(0), tzinfo=ZoneInfo(filters.tz)).astimezone(UTC)
        _closed_direct(session, scope, filters, max(start, window.start), window.end, rows)
    key = (Case.local_matter_id, Task.node_id, Task.unit_id)
    opened = (
        select(
            *key, func.max(Task.name).label("name"), func.count().label("n"),
            func.coalesce(func.sum(case((Task.due_at < window.now, 1), else_=0)), 0).label("late"),
        )
        .join(Case, Case.id == Task.case_id)
        .where(scope, *_step_clauses(filters), Task.state == "open")
        .group_by(*key)
    )
    for r in session.execute(opened).mappings():
        row = _row(rows, (r["local_matter_id"], r["node_id"], r["unit_id"]), r["name"])
        row.update(open_now=r["n"], overdue_open=r["late"])
    ranked = sorted(rows.items(), key=lambda kv: (-(_average(kv[1]) or 0), -kv[1]["overdue_open"], kv[0]))[:limit]
    matters = _lookup(session, LocalMatter, {k[0] for k, _ in ranked})
    units = _lookup(session, Unit, {k[2] for k, _ in ranked})
    return Bottlenecks(filters=filters.described(), as_of=window.now, rows=[
        StepRow(local_matter_id=m, matter_name=matters.get(m, ""), node_id=n, unit_id=u, unit_name=units.get(u, ""),
                step_name=v["step_name"], closed=v["closed"], average_days=_average(v), max_days=v["max_days"],
                overdue_closed=v["overdue_closed"], open_now=v["open_now"], overdue_open=v["overdue_open"])
        for (m, n, u), v in ranked
    ])


def _average(row: dict[str, Any]) -> float | None:
    return row["days_sum"] / row["days_n"] if row["days_n"] else None


def _row(rows: dict[tuple[int, str, int], dict[str, Any]], key: tuple[int, str, int], name: str) -> dict[str, Any]:
    found = rows.get(key)
    if found is None:
        found = rows[key] = {"step_name": name, "closed": 0, "days_sum": 0, "days_n": 0, "max_days": None,
                             "overdue_closed": 0, "open_now": 0, "overdue_open": 0}
    return found


def _add(row: dict[str, Any], r: Any) -> None:
    row["closed"] += int(r["n"])
    row["days_sum"] += int(r["days_sum"] or 0)
    row["days_n"] += int(r["days_n"] or 0)
    row["overdue_closed"] += int(r["late"] or 0)
    if r["max"] is not None:
        row["max_days"] = r["max"] if row["max_days"] is None else max(row["max_days"], r["max"])


def _closed_direct(
    session: Session, scope: Any, filters: Filters, start: datetime, end: datetime,
    rows: dict[tuple[int, str, int], dict[str, Any]],
) -> None:
    key = (Case.local_matter_id, Task.node_id, Task.unit_id)
    query = (
        select(
            *key, func.max(Task.name).label("name"), func.count().label("n"),
            func.sum(Task.working_days).label("days_sum"), func.count(Task.working_days).label("days_n"),
            func.max(Task.working_days).label("max"),
            func.coalesce(func.sum(case((Task.completed_at > Task.due_at, 1), else_=0)), 0).label("late"),
        )
        .join(Case, Case.id == Task.case_id)
        .where(scope, *_step_clauses(filters), Task.state.in_(CLOSED_STEPS),
               Task.completed_at >= start, Task.completed_at < end)
        .group_by(*key)
    )
    for r in session.execute(query).mappings():
        _add(_row(rows, (r["local_matter_id"], r["node_id"], r["unit_id"]), r["name"]), r)


def _closed_from_summary(
    session: Session, scope: Any, filters: Filters, held: tuple[date, date],
    rows: dict[tuple[int, str, int], dict[str, Any]],
) -> None:
    t = STEP_DAY
    clauses = [adapt(c, t) for c in (scope, *_step_clauses(filters)) if not _on_task(c)]
    if filters.unit_id is not None:
        clauses.append(t.c.unit_id == filters.unit_id)
    query = (
        select(
            t.c.local_matter_id, t.c.node_id, t.c.unit_id, func.max(t.c.name).label("name"),
            func.sum(t.c.closed).label("n"), func.sum(t.c.days_sum).label("days_sum"),
            func.sum(t.c.days_n).label("days_n"), func.max(t.c.max_days).label("max"),
            func.sum(t.c.overdue_closed).label("late"),
        )
        .where(*clauses, day_range(t, held))
        .group_by(t.c.local_matter_id, t.c.node_id, t.c.unit_id)
    )
    for r in session.execute(query).mappings():
        _add(_row(rows, (r["local_matter_id"], r["node_id"], r["unit_id"]), r["name"]), r)


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
