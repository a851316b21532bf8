"""Dwell time per step (bottlenecks) and the cards of open cases now, per unit.

A step counts for the unit that held it (``task.unit_id``), so a parallel review by three departments ranks
each on its own step. A closed step is one a person decided, returned or transferred in the period (its
``working_days`` recorded then); cancelled steps (a return, a withdrawal) held nobody's work to the end.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from xietong.cases.models import Case
from xietong.catalog.models import LocalMatter
from xietong.directory.models import Unit
from xietong.engine.models import Task
from xietong.monitor.access import monitor_scope
from xietong.monitor.figures import window_of
from xietong.monitor.filters import Filters
from xietong.monitor.measures import RUNNING, anchor_clause
from xietong.monitor.schemas import Bottlenecks, CardRow, CardsNow, StepRow
from xietong.security.principal import Principal

CLOSED_BY_A_PERSON = ("completed", "returned", "transferred")


def _step_clauses(filters: Filters) -> list[object]:
    """Region and matter on the case; the unit on the step (the unit that held it)."""
    clauses: list[object] = []
    if filters.region_id is not None:
        clauses.append(Case.region_id == filters.region_id)
    if filters.local_matter_id is not None:
        clauses.append(Case.local_matter_id == filters.local_matter_id)
    if filters.unit_id is not None:
        clauses.append(Task.unit_id == filters.unit_id)
    return clauses


def bottlenecks(
    session: Session, *, principal: Principal, filters: Filters, now: datetime | None = None, limit: int = 50
) -> Bottlenecks:
    """Steps by average working days held, longest first (closed in the period; open and overdue now)."""
    scope, window = monitor_scope(principal), window_of(filters, now)
    key = (Case.local_matter_id, Task.node_id, Task.unit_id)
    closed = (
        select(
            *key, func.max(Task.name).label("name"), func.count().label("n"), func.avg(Task.working_days).label("avg"),
            func.max(Task.working_days).label("max"),
            func.coalesce(func.sum(case((Task.completed_at > Task.due_at, 1), else_=0)), 0).label("late"),
        )
        .join(Case, Case.id == Task.case_id)
        .where(scope, *_step_clauses(filters), Task.state.in_(CLOSED_BY_A_PERSON),
               Task.completed_at >= window.start, Task.completed_at < window.end)
        .group_by(*key)
    )
    opened = (
        select(
            *key, func.max(Task.name).label("name"), func.count().label("n"),
            func.coalesce(func.sum(case((Task.due_at < window.now, 1), else_=0)), 0).label("late"),
        )
        .join(Case, Case.id == Task.case_id)
        .where(scope, *_step_clauses(filters), Task.state == "open")
        .group_by(*key)
    )
    rows: dict[tuple[int, str, int], dict[str, object]] = {}
    for r in session.execute(closed).mappings():
        rows[(r["local_matter_id"], r["node_id"], r["unit_id"])] = {
            "step_name": r["name"], "closed": r["n"], "average_days": None if r["avg"] is None else float(r["avg"]),
            "max_days": r["max"], "overdue_closed": r["late"], "open_now": 0, "overdue_open": 0,
        }
    for r in session.execute(opened).mappings():
        row = rows.setdefault((r["local_matter_id"], r["node_id"], r["unit_id"]), {
            "step_name": r["name"], "closed": 0, "average_days": None, "max_days": None, "overdue_closed": 0,
        })
        row.update(open_now=r["n"], overdue_open=r["late"])
    ranked = sorted(rows.items(), key=lambda kv: (-(kv[1]["average_days"] or 0), -kv[1]["overdue_open"], kv[0]))
    ranked = ranked[:limit]
    matters = _lookup(session, LocalMatter, {k[0] for k, _ in ranked})
    units = _lookup(session, Unit, {k[2] for k, _ in ranked})
    return Bottlenecks(filters=filters.described(), as_of=window.now, rows=[
        StepRow(local_matter_id=m, matter_name=matters.get(m, ""), node_id=n, unit_id=u, unit_name=units.get(u, ""),
                **values)  # type: ignore[arg-type]
        for (m, n, u), values in ranked
    ])


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
