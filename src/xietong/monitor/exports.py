"""Any monitoring table as .xlsx, by name — the API's and the CLI's one way to export.

A case list exports every case of its figure (drill-down without pages) up to ``MAX_EXPORT_ROWS``; a larger
one is refused (413) with the advice to narrow the filters, before anything is read in full.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xietong.cases.models import Case
from xietong.errors import InvalidInput, TooLarge
from xietong.monitor.access import monitor_scope
from xietong.monitor.drilldown import drilldown
from xietong.monitor.figures import figures, ranking, window_of
from xietong.monitor.filters import Filters
from xietong.monitor.measures import measure
from xietong.monitor.schemas import CaseRow
from xietong.monitor.steps import bottlenecks, cards_now
from xietong.monitor.tables import Table, bottlenecks_table, cards_table, cases_table, figures_table, ranking_table
from xietong.monitor.xlsx import workbook
from xietong.security.principal import Principal

TABLES = ("figures", "units", "regions", "bottlenecks", "cards", "cases")
MAX_EXPORT_ROWS = 100_000
PAGE = 200


def export_table(
    session: Session, *, principal: Principal, filters: Filters, table: str, figure: str | None = None,
    now: datetime | None = None, fold: bool = False,
) -> tuple[str, bytes]:
    """The file name and .xlsx bytes of one table (``cases`` needs the ``figure`` to list; ``fold`` ranks the
    units merged away in a 机构改革 within their successor)."""
    made = _table(session, principal, filters, table, figure, now, fold)
    name = f"{table}{'-' + figure if figure else ''}-{filters.period.label}.xlsx"
    return name, workbook([made], title=f"{made.title} {filters.period.title}")


def _table(
    session: Session, principal: Principal, filters: Filters, table: str, figure: str | None, now: datetime | None,
    fold: bool = False,
) -> Table:
    if table == "figures":
        return figures_table(figures(session, principal=principal, filters=filters, now=now))
    if table in ("units", "regions"):
        by = table[:-1]
        return ranking_table(ranking(session, principal=principal, filters=filters, by=by, now=now,
                                     fold_reorganised=fold))
    if table == "bottlenecks":
        return bottlenecks_table(bottlenecks(session, principal=principal, filters=filters, now=now, limit=10_000))
    if table == "cards":
        return cards_table(cards_now(session, principal=principal, filters=filters, now=now))
    if table == "cases":
        if figure is None:
            raise InvalidInput(code="figure_required", detail="导出办件清单时请指明指标（figure）")
        chosen = measure(figure)
        return cases_table(all_cases(session, principal=principal, filters=filters, figure=figure, now=now),
                           f"{chosen.label}清单")
    raise InvalidInput(code="unknown_table", detail=f"没有名为“{table}”的统计表，可选：{'、'.join(TABLES)}")


def all_cases(
    session: Session, *, principal: Principal, filters: Filters, figure: str, now: datetime | None = None
) -> list[CaseRow]:
    """Every case of a figure, page by page; refused above ``MAX_EXPORT_ROWS``."""
    scope, window = monitor_scope(principal), window_of(filters, now)
    where = [scope, *filters.case_clauses(), measure(figure).clause(window)]
    total = session.scalar(select(func.count()).select_from(Case).where(*where)) or 0
    if total > MAX_EXPORT_ROWS:
        raise TooLarge(code="export_too_large",
                       detail=f"该清单有 {total} 件，超过导出上限 {MAX_EXPORT_ROWS} 件，请缩小统计期间或加筛选条件")
    rows: list[CaseRow] = []
    cursor = None
    while True:
        page = drilldown(session, principal=principal, filters=filters, figure=figure, limit=PAGE, cursor=cursor,
                         now=window.now)
        rows += page.items
        cursor = page.next_cursor
        if cursor is None:
            return rows
