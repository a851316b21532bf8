"""Drill-down: the cases behind any figure, a keyset page at a time, and the worst overdue cases of a period."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from xietong.cases.enums import STATUS_LABELS, CaseStatus
from xietong.cases.models import Case
from xietong.catalog.models import LocalMatter
from xietong.clock.calendar import WorkCalendar
from xietong.clock.due import due_date
from xietong.directory.models import Region, Unit
from xietong.monitor.access import monitor_scope
from xietong.monitor.figures import window_of
from xietong.monitor.filters import Filters
from xietong.monitor.measures import BY_KEY, measure
from xietong.monitor.schemas import CaseRow
from xietong.pagination import Page, after, check_limit, decode_cursor, encode_cursor, ordered
from xietong.security.principal import Principal
from xietong.system.calendar import work_calendar


def _rows() -> Select[Any]:
    return (
        select(Case, LocalMatter.name.label("matter_name"), Unit.name.label("unit_name"),
               Region.name.label("region_name"))
        .join(LocalMatter, LocalMatter.id == Case.local_matter_id)
        .join(Unit, Unit.id == Case.handling_unit_id)
        .join(Region, Region.id == Case.region_id)
    )


def overdue_days(case: Case, now: datetime, cal: WorkCalendar) -> int | None:
    """Working days past the due day: through today for an open case, through the conclusion day for a late one."""
    if case.due_at is None:
        return None
    last = due_date(case.due_at, cal)
    if case.concluded_at is not None:
        end = cal.local_date(case.concluded_at)
    elif CaseStatus(case.status) in (CaseStatus.ACCEPTED, CaseStatus.IN_PROGRESS):
        end = cal.local_date(now)
    else:
        return None
    return cal.working_days_between(last, end) if end > last else None


def case_row(row: Any, now: datetime, cal: WorkCalendar) -> CaseRow:
    case: Case = row[0]
    return CaseRow(
        id=case.id, number=case.number, title=case.title, matter_name=row.matter_name,
        local_matter_id=case.local_matter_id, region_id=case.region_id, region_name=row.region_name,
        handling_unit_id=case.handling_unit_id, handling_unit_name=row.unit_name, status=case.status,
        status_label=STATUS_LABELS[CaseStatus(case.status)], channel=case.channel, submitted_at=case.submitted_at,
        accepted_at=case.accepted_at, due_at=case.due_at, concluded_at=case.concluded_at,
        working_days_used=case.working_days_used, card=case.card, overdue_working_days=overdue_days(case, now, cal),
    )


def drilldown(
    session: Session,
    *,
    principal: Principal,
    filters: Filters,
    figure: str,
    limit: int = 50,
    cursor: str | None = None,
    with_total: bool = False,
    now: datetime | None = None,
) -> Page[CaseRow]:
    """The cases counted by ``figure`` (a key of ``measures.MEASURES``), newest submission first."""
    scope, window, limit = monitor_scope(principal), window_of(filters, now), check_limit(limit)
    where = [scope, *filters.case_clauses(), measure(figure).clause(window)]
    query = _rows().where(*where)
    if cursor:
        query = query.where(after(Case.submitted_at, Case.id, decode_cursor(cursor, (datetime, int)), descending=True))
    rows = session.execute(ordered(query, Case.submitted_at, Case.id, descending=True).limit(limit + 1)).all()
    cal = work_calendar(session.connection(), filters.tz)
    items = [case_row(row, window.now, cal) for row in rows[:limit]]
    next_cursor = encode_cursor((items[-1].submitted_at, items[-1].id)) if len(rows) > limit else None
    total = session.scalar(select(func.count()).select_from(Case).where(*where)) if with_total else None
    return Page(items=items, next_cursor=next_cursor, total=total)


def worst_overdue(
    session: Session, *, principal: Principal, filters: Filters, figure: str, limit: int = 20,
    now: datetime | None = None,
) -> list[CaseRow]:
    """The cases of ``overdue_now`` or ``late`` that are furthest past their due time, worst first."""
    scope, window = monitor_scope(principal), window_of(filters, now)
    where = [scope, *filters.case_clauses(), BY_KEY[figure].clause(window)]
    cal = work_calendar(session.connection(), filters.tz)
    if figure == "late":
        # Working days past due need the calendar: rank the period's late cases on their two times alone
        # (a difference of timestamps is not portable SQL), then read the worst ones in full.
        times = session.execute(select(Case.id, Case.due_at, Case.concluded_at).where(*where)).all()
        def past(t: Any) -> int:
            return cal.working_days_between(due_date(t.due_at, cal), cal.local_date(t.concluded_at)) if t.due_at else 0
        worst = sorted(times, key=lambda t: (-past(t), t.id))[:limit]
        ids = [t.id for t in worst]
        rows = session.execute(_rows().where(Case.id.in_(ids))).all() if ids else []
    else:  # open cases: the earliest due is the most overdue
        rows = session.execute(_rows().where(*where).order_by(Case.due_at, Case.id).limit(limit)).all()
    items = [case_row(row, window.now, cal) for row in rows]
    items.sort(key=lambda r: (-(r.overdue_working_days or 0), r.due_at or window.now, r.id))
    return items[:limit]
