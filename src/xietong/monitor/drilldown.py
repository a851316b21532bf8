"""Drill-down: the cases behind any figure, a keyset page at a time, and the worst overdue cases of a period."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from xietong.cases.enums import STATUS_LABELS, CaseStatus
from xietong.cases.models import Case
from xietong.catalog.models import LocalMatter
from xietong.clock.calendar import WorkCalendar
from xietong.clock.due import due_date
from xietong.directory.models import Region, Unit
from xietong.errors import InvalidInput
from xietong.monitor.access import monitor_scope
from xietong.monitor.figures import window_of
from xietong.monitor.filters import Filters
from xietong.monitor.measures import BY_KEY, measure
from xietong.monitor.schemas import CaseRow
from xietong.pagination import Page, check_limit, decode_cursor, encode_cursor
from xietong.security.principal import Principal
from xietong.system.calendar import work_calendar

ORDER_KEYS = {"submitted": Case.submitted_at, "accepted": Case.accepted_at, "concluded": Case.concluded_at}


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
    """The cases counted by ``figure`` (a key of ``measures.MEASURES``), newest first by the figure's anchor
    time (submission, acceptance or conclusion; submission for the others) — the index that finds them orders them.
    """
    scope, window, limit = monitor_scope(principal), window_of(filters, now), check_limit(limit)
    chosen = measure(figure)
    key = ORDER_KEYS.get(chosen.anchor, Case.submitted_at)
    where = [scope, *filters.case_clauses(), chosen.clause(window)]
    query = _rows().where(*where)
    if cursor:
        at, last_id = decode_cursor(cursor, (datetime, int))
        if at is None:
            raise InvalidInput(code="bad_cursor", detail="分页游标无效，请从第一页重新开始")
        # the anchor time of a figure's cases is never NULL (an anchor is a time the case has), so the plain
        # keyset comparison serves — and lets the anchor's index both find and order the rows
        query = query.where(or_(key < at, and_(key == at, Case.id < last_id)))
    rows = session.execute(query.order_by(key.desc(), Case.id.desc()).limit(limit + 1)).all()
    cal = work_calendar(session.connection(), filters.tz)
    items = [case_row(row, window.now, cal) for row in rows[:limit]]
    last = rows[limit - 1][0] if len(rows) > limit else None
    next_cursor = encode_cursor((getattr(last, key.key), last.id)) if last is not None else None
    total = session.scalar(select(func.count()).select_from(Case).where(*where)) if with_total else None
    return Page(items=items, next_cursor=next_cursor, total=total)


def worst_overdue(
    session: Session, *, principal: Principal, filters: Filters, figure: str, limit: int = 20,
    now: datetime | None = None,
) -> list[CaseRow]:
    """The cases of ``overdue_now`` or ``late`` furthest past their due time (in time; working days shown)."""
    scope, window = monitor_scope(principal), window_of(filters, now)
    query = _rows().where(scope, *filters.case_clauses(), BY_KEY[figure].clause(window))
    if figure == "late":
        query = query.order_by(_past_due(session).desc(), Case.id)
    else:  # open cases: the earliest due is the most overdue
        query = query.order_by(Case.due_at, Case.id)
    cal = work_calendar(session.connection(), filters.tz)
    return [case_row(row, window.now, cal) for row in session.execute(query.limit(limit))]


def _past_due(session: Session) -> Any:
    """How long after its due time a case was concluded, in a form each database orders by."""
    if session.get_bind().dialect.name == "sqlite":
        return func.julianday(Case.concluded_at) - func.julianday(Case.due_at)
    return Case.concluded_at - Case.due_at
