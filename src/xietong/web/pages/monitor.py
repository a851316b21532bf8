"""监管看板: the supervision dashboard, the unit and matter pages with the same figures, and the drill-down
lists behind every figure — for supervisory roles over their scope (``monitor/access.py``). The panel
refreshes itself by htmx polling; the charts are ECharts drawn by ``static/js/monitor.js`` from the panel's
JSON data block (no inline scripts: the CSP forbids them)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from xietong.db.base import utcnow
from xietong.errors import InvalidInput
from xietong.monitor.access import monitor_scope
from xietong.monitor.choices import choices, matter_of, unit_name
from xietong.monitor.definitions import DEFINITIONS
from xietong.monitor.drilldown import drilldown
from xietong.monitor.filters import Filters, parse_period
from xietong.monitor.measures import BY_KEY
from xietong.security.principal import Principal
from xietong.web.deps import reading, settings_of
from xietong.web.pages.access import PagePrincipal
from xietong.web.pages.monitor_view import cases_href, dashboard, period_suggestions, query_of
from xietong.web.pages.rendering import is_htmx, render

router = APIRouter()
Text = Annotated[str | None, Query(max_length=40)]
EXPORTS = (("figures", "指标"), ("units", "单位排名"), ("regions", "区域排名"), ("bottlenecks", "环节耗时"),
           ("cards", "红黄牌"), ("reductions", "五减"))
PAGE_SIZE = 50


def _id(value: str | None, what: str) -> int | None:
    if value is None or value.strip() == "":
        return None
    if not value.strip().isdigit():
        raise InvalidInput(code="bad_filter", detail=f"{what}参数有误")
    return int(value)


def _filters(request: Request, period: str | None, region: str | None, unit: str | None, matter: str | None,
             fixed: dict[str, int], lineage: str | None = None) -> Filters:
    tz = settings_of(request).timezone
    if not period:
        today = datetime.now(ZoneInfo(tz)).date()
        period = f"{today.year}Q{(today.month - 1) // 3 + 1}"
    return Filters(
        period=parse_period(period), region_id=fixed.get("region_id", _id(region, "区域")),
        unit_id=fixed.get("unit_id", _id(unit, "单位")),
        local_matter_id=fixed.get("local_matter_id", _id(matter, "事项")), tz=tz, follow_lineage=lineage == "1",
    )


def _api_query(filters: Filters) -> dict[str, str]:
    query = query_of(filters, {})
    if query.pop("lineage", None):
        query["follow_lineage"] = "true"
    return query


def _page(request: Request, principal: Principal, filters: Filters, *, fixed: dict[str, int], title: str,
          base: str, fold: bool = False) -> Response:
    monitor_scope(principal)  # 403 before anything is read
    now = utcnow()
    query = query_of(filters, fixed) | ({"fold": "1"} if fold else {})
    with reading(request) as session:
        context: dict[str, Any] = dashboard(session, principal=principal, filters=filters, now=now, fold=fold)
        if not is_htmx(request):
            context["choices"] = choices(session, region_id=filters.region_id, unit_id=filters.unit_id)
    context.update({
        "title": title, "filters": filters, "fixed": fixed, "base": base, "as_of": now,
        "panel_url": f"{base}/panel?{urlencode(query)}",
        "api_query": urlencode(_api_query(filters) | ({"fold": "true"} if fold else {})),  # exports fold too
        "exports": EXPORTS, "fold": fold,
        "fold_url": None if fixed else f"{base}?" + urlencode(query_of(filters, {}) | ({} if fold else {"fold": "1"})),
        "periods": period_suggestions(now.astimezone(ZoneInfo(filters.tz)).date()),
    })
    if is_htmx(request):
        return render(request, "monitor/_panel.html", context, partial=True)
    return render(request, "monitor/dashboard.html", context)


@router.get("/monitor", include_in_schema=False)
@router.get("/monitor/panel", include_in_schema=False)
def dashboard_page(request: Request, principal: PagePrincipal, period: Text = None, region_id: Text = None,
                   unit_id: Text = None, local_matter_id: Text = None, fold: Text = None) -> Response:
    filters = _filters(request, period, region_id, unit_id, local_matter_id, {})
    return _page(request, principal, filters, fixed={}, title="监管看板", base="/monitor", fold=fold == "1")


@router.get("/monitor/units/{unit_id}", include_in_schema=False)
@router.get("/monitor/units/{unit_id}/panel", include_in_schema=False)
def unit_page(request: Request, principal: PagePrincipal, unit_id: int, period: Text = None,
              local_matter_id: Text = None) -> Response:
    monitor_scope(principal)
    with reading(request) as session:
        name = unit_name(session, unit_id)
    filters = _filters(request, period, None, None, local_matter_id, {"unit_id": unit_id})
    return _page(request, principal, filters, fixed={"unit_id": unit_id}, title=f"单位监管：{name}",
                 base=f"/monitor/units/{unit_id}")


@router.get("/monitor/matters/{local_matter_id}", include_in_schema=False)
@router.get("/monitor/matters/{local_matter_id}/panel", include_in_schema=False)
def matter_page(request: Request, principal: PagePrincipal, local_matter_id: int, period: Text = None,
                lineage: Text = None) -> Response:
    monitor_scope(principal)
    with reading(request) as session:
        name, _unit, _region = matter_of(session, local_matter_id)
    filters = _filters(request, period, None, None, None, {"local_matter_id": local_matter_id}, lineage)
    title = f"事项监管：{name}" + ("（按沿革，含拆分、合并前后）" if filters.follow_lineage else "")
    return _page(request, principal, filters, fixed={"local_matter_id": local_matter_id}, title=title,
                 base=f"/monitor/matters/{local_matter_id}")


@router.get("/monitor/cases", include_in_schema=False)
def cases_page(request: Request, principal: PagePrincipal, figure: Annotated[str, Query(max_length=40)],
               period: Text = None, region_id: Text = None, unit_id: Text = None, local_matter_id: Text = None,
               cursor: Annotated[str | None, Query(max_length=500)] = None, lineage: Text = None) -> Response:
    filters = _filters(request, period, region_id, unit_id, local_matter_id, {}, lineage)
    with reading(request) as session:
        page = drilldown(session, principal=principal, filters=filters, figure=figure, limit=PAGE_SIZE,
                         cursor=cursor, with_total=cursor is None)
    more = cases_href(filters, figure, cursor=page.next_cursor) if page.next_cursor else None
    context = {"items": page.items, "more": more}
    if is_htmx(request):
        return render(request, "monitor/_case_rows.html", context, partial=True)
    context.update({
        "figure": BY_KEY[figure], "definition": DEFINITIONS.get(figure, ""), "total": page.total, "filters": filters,
        "export_query": urlencode({**query_of(filters, {}), "figure": figure}),
        "back": "/monitor?" + urlencode(query_of(filters, {})),
    })
    return render(request, "monitor/cases.html", context)
