"""Day summaries: the figures of closed local days, kept so a dashboard need not scan a year of cases.

Exact by construction, not by hope: a row counts facts that never change once made — a submission (its time
and channel), an acceptance, a conclusion (its time, due time, result, trips, working days used), a step
closed by a person (its time, due time, working days; a decision later withdrawn keeps them), a rating. Only closed
local days are summarised (``through`` is at most yesterday), and a query adds the days after ``through``
straight from the cases, so a stale summary is slower, never wrong. Figures that change, or that count
distinct cases over several rows (anything "now", orders' states, urged cases, card events), are always read
directly.

``refresh`` recomputes days from the cases (``since``: earlier days too). Once a first ``xietong monitor refresh``
has made them, the worker keeps them (``monitor.upkeep``): it summarises each new closed day after midnight and
re-summarises the closed days that events written with a past time (imports, the demo, tests) touched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Table, and_, delete, func, insert, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import visitors

from xietong.cases.models import Case, Event
from xietong.dataservice.cursors import lock_cursor
from xietong.dataservice.models import FeedCursor
from xietong.db.base import utcnow
from xietong.engine.models import Task
from xietong.monitor.filters import TZ
from xietong.monitor.measures import GOOD_LEVELS, ONLINE
from xietong.monitor.models import CaseDay, DaysUsedDay, StepDay, SummaryState
from xietong.oversight.enums import BAD_LEVELS
from xietong.oversight.models import Rating

CURSOR = "monitor_summaries"  # the change-log reader of ``monitor.upkeep``
CASE_DAY, DAYS_DAY, STEP_DAY = CaseDay.__table__, DaysUsedDay.__table__, StepDay.__table__
#: steps closed by a person; a withdrawn decision was closed by its decider and keeps its time and days
CLOSED_STEPS = ("completed", "returned", "transferred", "withdrawn")
CASE_COUNTS = ("submitted", "online", "mobile", "accepted", "concluded", "granted", "denied", "on_time", "late",
               "zero_trip", "immediate_concluded", "rated", "satisfied", "dissatisfied")
CASE_SUMS = ("days_sum", "days_cases", "timed_days_sum", "timed_legal_sum", "timed_cases")


@dataclass(frozen=True)
class Refreshed:
    first: date | None
    through: date | None
    case_rows: int
    step_rows: int


def summarised_through(session: Session) -> date | None:
    """The last local day the summaries hold (None: nothing summarised yet)."""
    return session.scalar(select(SummaryState.through).where(SummaryState.id == 1))


def adapt(clause: ColumnElement[Any], table: Table) -> ColumnElement[Any]:
    """A condition on ``case`` (scope, filters) as the same condition on a summary table's columns.

    Only the columns a summary row carries may appear (region, handling unit, local matter): anything else is
    an error, so a permission predicate that grows a new column fails loudly here instead of counting wrongly.
    """

    def replace(element: Any) -> Any:
        if getattr(element, "table", None) is Case.__table__:
            if element.key not in table.c:
                raise ValueError(f"the summaries cannot filter on case.{element.key}")
            return table.c[element.key]
        return None

    return visitors.replacement_traverse(clause, {}, replace)  # type: ignore[return-value]


def refresh(
    session: Session, *, through: date | None = None, since: date | None = None, tz: str = TZ,
    now: datetime | None = None,
) -> Refreshed:
    """Summarise every closed day after the last one summarised (or from ``since``) through ``through``."""
    zone = ZoneInfo(tz)
    now = now or utcnow()
    yesterday = now.astimezone(zone).date() - timedelta(days=1)
    through = min(through or yesterday, yesterday)
    cursor = lock_cursor(session, CURSOR)  # one refresh at a time: the CLI's and the worker's wait for each other
    held = summarised_through(session)
    if held is None:  # the first summary: the change log up to here is in it (``monitor.upkeep``)
        _start_following(session, cursor)
    first = since if since is not None else (held + timedelta(days=1) if held else _first_day(session, zone))
    if first is None or first > through:
        return Refreshed(None, held, 0, 0)
    start = datetime.combine(first, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(through + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    months = _months(first, through)
    for table in (CASE_DAY, DAYS_DAY, STEP_DAY):
        session.execute(delete(table).where(table.c.span == "d", table.c.day >= first, table.c.day <= through))
        session.execute(delete(table).where(table.c.span == "m", table.c.day.in_(months)))
    case_rows, days_rows = _case_days(session, start, end, zone)
    step_rows = _step_days(session, start, end, zone)
    for table, rows in ((CASE_DAY, case_rows), (DAYS_DAY, days_rows), (STEP_DAY, step_rows)):
        for batch in _batches(rows, 5_000):
            session.execute(insert(table), [{"span": "d", **r} for r in batch])
    new_through = max(through, held) if held else through
    for month in months:
        if _month_end(month) <= new_through:  # a month is rolled up once all its days are summarised
            _roll_up(session, month)
    state = session.get(SummaryState, 1)
    if state is None:
        session.add(SummaryState(id=1, through=new_through, refreshed_at=now))
    else:
        state.through, state.refreshed_at = new_through, now
    session.flush()
    return Refreshed(first, new_through, len(case_rows), len(step_rows))


def _start_following(session: Session, cursor: FeedCursor) -> None:
    """Move the summaries' change-log cursor past every event sequenced so far: a first summary reads the cases
    after these events committed, so they hold nothing it misses (read before the cases are)."""
    last = session.scalar(select(func.max(Event.position)).where(Event.position.is_not(None))) or 0
    cursor.position = max(cursor.position, last)


def _months(first: date, last: date) -> list[date]:
    """The first days of the months that [first, last] touches."""
    months, day = [], first.replace(day=1)
    while day <= last:
        months.append(day)
        day = _month_end(day) + timedelta(days=1)
    return months


def _month_end(first: date) -> date:
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return following - timedelta(days=1)


#: how a month row is made of its day rows: (table, key columns, {column: aggregate})
def _roll_up(session: Session, month: date) -> None:
    """The month's rows (span m, day = its first day) as the sums of its day rows."""
    days = (month, _month_end(month))
    plans = (
        (CASE_DAY, ("local_matter_id", "region_id", "handling_unit_id"),
         {c: func.sum for c in CASE_COUNTS + CASE_SUMS}),
        (DAYS_DAY, ("local_matter_id", "working_days", "region_id", "handling_unit_id"), {"cases": func.sum}),
        (STEP_DAY, ("local_matter_id", "node_id", "unit_id", "region_id", "handling_unit_id"),
         {"name": func.max, "closed": func.sum, "days_sum": func.sum, "days_n": func.sum, "max_days": func.max,
          "overdue_closed": func.sum}),
    )
    for table, keys, aggregates in plans:
        columns = [table.c[k] for k in keys] + [agg(table.c[c]).label(c) for c, agg in aggregates.items()]
        query = (select(*columns).where(table.c.span == "d", table.c.day >= days[0], table.c.day <= days[1])
                 .group_by(*(table.c[k] for k in keys)))
        rows = [{"span": "m", "day": month, **row} for row in session.execute(query).mappings()]
        for batch in _batches(rows, 5_000):
            session.execute(insert(table), batch)


def _first_day(session: Session, zone: ZoneInfo) -> date | None:
    first = session.scalar(select(func.min(Case.submitted_at)))
    return None if first is None else first.astimezone(zone).date()


def _batches(rows: list[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def _case_days(
    session: Session, start: datetime, end: datetime, zone: ZoneInfo
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Bucket the submissions, acceptances and conclusions of [start, end) by local day, matter, region and
    handling unit (one matter's cases of one day may differ in region and unit: after a 机构改革, say)."""
    rows: dict[tuple[date, int, int, int], dict[str, Any]] = {}
    histogram: dict[tuple[date, int, int, int, int], int] = defaultdict(int)

    def row(at: datetime, matter: int, region: int, unit: int) -> dict[str, Any]:
        key = (at.astimezone(zone).date(), matter, region, unit)
        found = rows.get(key)
        if found is None:
            found = rows[key] = {"day": key[0], "local_matter_id": matter, "region_id": region,
                                 "handling_unit_id": unit, **dict.fromkeys(CASE_COUNTS + CASE_SUMS, 0)}
        return found

    place = (Case.local_matter_id, Case.region_id, Case.handling_unit_id)
    for m, region, unit, at, channel in session.execute(
        select(*place, Case.submitted_at, Case.channel).where(Case.submitted_at >= start, Case.submitted_at < end)
    ):
        r = row(at, m, region, unit)
        r["submitted"] += 1
        r["online"] += channel in ONLINE
        r["mobile"] += channel == "mobile"
    for m, region, unit, at in session.execute(
        select(*place, Case.accepted_at).where(Case.accepted_at >= start, Case.accepted_at < end)
    ):
        row(at, m, region, unit)["accepted"] += 1
    concluded = select(*place, Case.concluded_at, Case.due_at, Case.result, Case.trips, Case.legal_limit_days,
                       Case.working_days_used).where(Case.concluded_at >= start, Case.concluded_at < end)
    for m, region, unit, at, due, result, trips, legal, used in session.execute(concluded):
        r = row(at, m, region, unit)
        on_time = due is not None and at <= due
        r["concluded"] += 1
        r["granted"] += result == "granted"
        r["denied"] += result == "denied"
        r["on_time" if on_time else "late"] += 1
        r["zero_trip"] += trips == 0
        r["immediate_concluded"] += legal == 0
        if used is not None:
            r["days_sum"] += used
            r["days_cases"] += 1
            histogram[(r["day"], m, region, unit, used)] += 1
            if legal > 0:
                r["timed_days_sum"] += used
                r["timed_legal_sum"] += legal
                r["timed_cases"] += 1
    ratings = (select(*place, Rating.at, Rating.level).join(Case, Case.id == Rating.case_id)
               .where(Rating.at >= start, Rating.at < end))
    for m, region, unit, at, level in session.execute(ratings):
        r = row(at, m, region, unit)
        r["rated"] += 1
        r["satisfied"] += level in GOOD_LEVELS
        r["dissatisfied"] += level in BAD_LEVELS
    days = [{"day": d, "local_matter_id": m, "working_days": w, "region_id": region, "handling_unit_id": unit,
             "cases": n} for (d, m, region, unit, w), n in histogram.items()]
    return list(rows.values()), days


def _step_days(session: Session, start: datetime, end: datetime, zone: ZoneInfo) -> list[dict[str, Any]]:
    """Bucket the steps closed by a person in [start, end) by local day, matter, step, holding unit and the
    case's region and handling unit."""
    query = (
        select(Case.local_matter_id, Case.region_id, Case.handling_unit_id, Task.node_id, Task.unit_id, Task.name,
               Task.completed_at, Task.due_at, Task.working_days)
        .join(Case, Case.id == Task.case_id)
        .where(Task.state.in_(CLOSED_STEPS), Task.completed_at >= start, Task.completed_at < end)
    )
    rows: dict[tuple[date, int, str, int, int, int], dict[str, Any]] = {}
    for m, region, unit, node, holder, name, at, due, days in session.execute(query):
        key = (at.astimezone(zone).date(), m, node, holder, region, unit)
        r = rows.get(key)
        if r is None:
            r = rows[key] = {"day": key[0], "local_matter_id": m, "node_id": node, "unit_id": holder,
                             "region_id": region, "handling_unit_id": unit, "name": name, "closed": 0,
                             "days_sum": 0, "days_n": 0, "max_days": None, "overdue_closed": 0}
        r["closed"] += 1
        r["overdue_closed"] += due is not None and at > due
        if days is not None:
            r["days_sum"] += days
            r["days_n"] += 1
            r["max_days"] = days if r["max_days"] is None else max(r["max_days"], days)
    return list(rows.values())


#: the summarised part of a period: (span, first day, last day) pieces — whole months, then loose days
Held = tuple[tuple[str, date, date], ...]


def split(first: date, last: date, through: date | None) -> tuple[Held | None, date | None]:
    """The pieces of [first, last] the summaries hold, and the first day the cases must be read for (or None)."""
    if through is None or through < first:
        return None, first
    end = min(last, through)
    pieces: list[tuple[str, date, date]] = []
    for month in _months(first, end):
        month_last = _month_end(month)
        if month >= first and month_last <= end:
            pieces.append(("m", month, month))
        else:
            pieces.append(("d", max(first, month), min(end, month_last)))
    return tuple(pieces), (through + timedelta(days=1) if through < last else None)


def day_range(table: Table, held: Held) -> ColumnElement[bool]:
    """The summary rows of the held pieces (month rows are keyed by their month's first day)."""
    months = [a for span, a, _ in held if span == "m"]
    clauses = [and_(table.c.span == "m", table.c.day.in_(months))] if months else []
    clauses += [and_(table.c.span == "d", table.c.day >= a, table.c.day <= b) for span, a, b in held if span == "d"]
    return or_(*clauses)
