"""/api/v1/monitor: the supervision dashboard's figures, rankings, cards, bottlenecks, drill-downs, 五减,
exports (.xlsx) and the periodic bulletin (.xlsx or PDF) — for supervisory roles, over their scope."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from xietong.catalog.reductions import Rollup, rollup
from xietong.catalog.reductions_xlsx import export_rollup
from xietong.monitor import bulletin as bulletins
from xietong.monitor.access import monitor_scope
from xietong.monitor.drilldown import drilldown
from xietong.monitor.exports import export_table
from xietong.monitor.figures import figures, ranking
from xietong.monitor.filters import Filters, parse_period
from xietong.monitor.schemas import Bottlenecks, CardsNow, CaseRow, Figures, Ranking
from xietong.monitor.steps import bottlenecks, cards_now
from xietong.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from xietong.web.deps import CurrentPrincipal, reading

router = APIRouter(prefix="/monitor", tags=["监控分析"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Period = Annotated[str, Query(max_length=40, description="统计期间：2026Q3、2026-09、2026 或 2026-07-01..2026-09-30")]
Id = Annotated[int | None, Query(ge=1)]
Follow = Annotated[bool, Query(description="按沿革统计：事项拆分、合并前后的办件合并计入（docs/granularity.md）")]
Fold = Annotated[bool, Query(description="按改革后单位合并：机构改革中被合并的单位计入接续单位")]


def _filters(period: str, region_id: int | None, unit_id: int | None, local_matter_id: int | None,
             follow_lineage: bool = False) -> Filters:
    return Filters(period=parse_period(period), region_id=region_id, unit_id=unit_id, local_matter_id=local_matter_id,
                   follow_lineage=follow_lineage)


def _file(name: str, data: bytes, media_type: str) -> Response:
    return Response(content=data, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/figures", summary="全部指标（数量、比率、用时、提速率）", response_model=Figures)
def get_figures(request: Request, principal: CurrentPrincipal, period: Period, region_id: Id = None,
                unit_id: Id = None, local_matter_id: Id = None, follow_lineage: Follow = False) -> Figures:
    with reading(request) as session:
        filters = _filters(period, region_id, unit_id, local_matter_id, follow_lineage)
        return figures(session, principal=principal, filters=filters)


@router.get("/ranking", summary="单位或区域排名", response_model=Ranking)
def get_ranking(request: Request, principal: CurrentPrincipal, period: Period,
                by: Annotated[Literal["unit", "region"], Query()] = "unit", region_id: Id = None,
                unit_id: Id = None, local_matter_id: Id = None, follow_lineage: Follow = False,
                fold: Fold = False,
                ) -> Ranking:
    with reading(request) as session:
        filters = _filters(period, region_id, unit_id, local_matter_id, follow_lineage)
        return ranking(session, principal=principal, filters=filters, by=by, fold_reorganised=fold)


@router.get("/cards", summary="当前黄牌、红牌与逾期在办（按办理单位）", response_model=CardsNow)
def get_cards(request: Request, principal: CurrentPrincipal, period: Period, region_id: Id = None,
              unit_id: Id = None, local_matter_id: Id = None, follow_lineage: Follow = False) -> CardsNow:
    with reading(request) as session:
        filters = _filters(period, region_id, unit_id, local_matter_id, follow_lineage)
        return cards_now(session, principal=principal, filters=filters)


@router.get("/bottlenecks", summary="环节耗时（瓶颈），按承办环节的单位计", response_model=Bottlenecks)
def get_bottlenecks(request: Request, principal: CurrentPrincipal, period: Period, region_id: Id = None,
                    unit_id: Id = None, local_matter_id: Id = None, follow_lineage: Follow = False,
                    limit: Annotated[int, Query(ge=1, le=500)] = 50) -> Bottlenecks:
    with reading(request) as session:
        filters = _filters(period, region_id, unit_id, local_matter_id, follow_lineage)
        return bottlenecks(session, principal=principal, filters=filters, limit=limit)


@router.get("/cases", summary="指标钻取：该指标所计的办件", response_model=Page[CaseRow])
def get_cases(request: Request, principal: CurrentPrincipal, period: Period,
              figure: Annotated[str, Query(max_length=40, description="指标代码，如 on_time、overdue_now")],
              region_id: Id = None, unit_id: Id = None, local_matter_id: Id = None, follow_lineage: Follow = False,
              limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
              cursor: Annotated[str | None, Query(max_length=500)] = None, with_total: bool = False) -> Page[CaseRow]:
    with reading(request) as session:
        filters = _filters(period, region_id, unit_id, local_matter_id, follow_lineage)
        return drilldown(session, principal=principal, filters=filters, figure=figure, limit=limit, cursor=cursor,
                         with_total=with_total)


@router.get("/reductions", summary="五减：期初与期末在用版本的比较", response_model=Rollup)
def get_reductions(request: Request, principal: CurrentPrincipal, period: Period, region_id: Id = None,
                   unit_id: Id = None) -> Rollup:
    monitor_scope(principal)
    start, end = parse_period(period).bounds()
    with reading(request) as session:
        return rollup(session, period_from=start, period_to=end, region_id=region_id, unit_id=unit_id)


@router.get("/export/{table}.xlsx", summary="导出统计表为 .xlsx（figures、units、regions、bottlenecks、cards、cases、"
            "reductions）", response_class=Response)
def export(request: Request, principal: CurrentPrincipal, table: str, period: Period, region_id: Id = None,
           unit_id: Id = None, local_matter_id: Id = None, follow_lineage: Follow = False,
           figure: Annotated[str | None, Query(max_length=40)] = None, fold: Fold = False) -> Response:
    filters = _filters(period, region_id, unit_id, local_matter_id, follow_lineage)
    with reading(request) as session:
        if table == "reductions":
            monitor_scope(principal)
            start, end = filters.bounds()
            data = export_rollup(rollup(session, period_from=start, period_to=end, region_id=region_id,
                                        unit_id=unit_id))
            return _file(f"reductions-{filters.period.label}.xlsx", data, XLSX)
        name, data = export_table(session, principal=principal, filters=filters, table=table, figure=figure,
                                  fold=fold)
    return _file(name, data, XLSX)


@router.get("/bulletin", summary="月度/季度通报（.xlsx 或 PDF）", response_class=Response)
def get_bulletin(request: Request, principal: CurrentPrincipal, period: Period, region_id: Id = None,
                 format: Annotated[Literal["xlsx", "pdf"], Query()] = "pdf", fold: Fold = False) -> Response:
    filters = _filters(period, region_id, None, None)
    with reading(request) as session:
        made = bulletins.gather(session, principal=principal, filters=filters,
                                scope_name=bulletins.scope_name(session, region_id), fold=fold)
    name = f"bulletin-{filters.period.label}.{format}"
    if format == "xlsx":
        return _file(name, bulletins.bulletin_xlsx(made), XLSX)
    return _file(name, bulletins.bulletin_pdf(made), "application/pdf")
