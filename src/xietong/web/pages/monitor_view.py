"""The supervision dashboard's view: the figures, trend, rankings, live cards and slowest steps of a filter,
turned into tiles (each with its definition and drill-down link), tables and the charts' JSON.

The page, the unit page and the matter page share it; they differ only in a filter fixed by the path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from xietong.monitor.definitions import DEFINITIONS
from xietong.monitor.drilldown import drilldown
from xietong.monitor.figures import overview
from xietong.monitor.filters import Filters
from xietong.monitor.schemas import Figures
from xietong.monitor.steps import bottlenecks, cards_now
from xietong.monitor.trend import trend
from xietong.security.principal import Principal

LIVE_CARDS = 10
TOP_UNITS = 12
TOP_STEPS = 10
REFRESH_SECONDS = 60

#: the headline tiles: (key, kind) — a count, a rate, or a day figure
TILES = (
    ("submitted", "count"), ("accepted", "count"), ("concluded", "count"), ("in_progress", "count"),
    ("on_time_rate", "rate"), ("actual_speed_up", "rate"), ("promised_speed_up", "speed"),
    ("online_rate", "rate"), ("mobile_rate", "rate"), ("zero_trip_rate", "rate"),
    ("average_days", "days"), ("median_days", "days"), ("overdue_now", "count"), ("yellow_now", "count"),
    ("red_now", "count"), ("urged", "count"), ("supervised", "count"), ("satisfaction", "rate"),
)
TILE_LABELS = {"average_days": "平均用时", "median_days": "中位用时", "promised_speed_up": "承诺提速率"}


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    value: str
    definition: str
    href: str | None  # the figure's cases (for a rate: its numerator's)
    detail: str = ""  # a rate's parts, a day figure's case count
    tone: str = ""  # warn | bad: overdue and cards that are not zero


def query_of(filters: Filters, fixed: dict[str, int]) -> dict[str, str]:
    """The filters as query parameters (without those the path fixes)."""
    values = {"period": filters.period.label, "region_id": filters.region_id, "unit_id": filters.unit_id,
              "local_matter_id": filters.local_matter_id, "lineage": "1" if filters.follow_lineage else None}
    return {k: str(v) for k, v in values.items() if v is not None and k not in fixed}


def cases_href(filters: Filters, figure: str, **overrides: Any) -> str:
    values = {"period": filters.period.label, "region_id": filters.region_id, "unit_id": filters.unit_id,
              "local_matter_id": filters.local_matter_id, "figure": figure,
              "lineage": "1" if filters.follow_lineage else None, **overrides}
    return "/monitor/cases?" + urlencode({k: v for k, v in values.items() if v is not None})


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _tiles(made: Figures, filters: Filters) -> list[Tile]:
    counts = {c.key: c for c in made.counts}
    rates = {r.key: r for r in made.rates}
    tiles = []
    for key, kind in TILES:
        definition = DEFINITIONS.get(key, "")
        if kind == "count":
            value = counts[key].value
            tone = ("bad" if key in ("red_now", "overdue_now") else "warn") if value and key in (
                "red_now", "overdue_now", "yellow_now") else ""
            tiles.append(Tile(key, counts[key].label, f"{value:,}", definition, cases_href(filters, key), tone=tone))
        elif kind == "rate":
            r = rates[key]
            figure = r.numerator_figure or r.denominator_figure
            detail = f"{r.numerator:,} / {r.denominator:,}" + ("（工作日）" if key == "actual_speed_up" else "")
            tiles.append(Tile(key, r.label, _percent(r.value), definition,
                              cases_href(filters, figure) if figure else None, detail=detail))
        elif kind == "speed":
            s = made.promised_speed_up
            tiles.append(Tile(key, TILE_LABELS[key], _percent(s.value), definition, None,
                              detail=f"{s.matters} 个承诺事项，即办 {s.immediate_matters} 个"))
        else:
            value = made.days.average if key == "average_days" else made.days.median
            text = "—" if value is None else f"{value:.1f} 个工作日"
            tiles.append(Tile(key, TILE_LABELS[key], text, definition, cases_href(filters, "concluded"),
                              detail=f"{made.days.cases:,} 件"))
    return tiles


def dashboard(session: Session, *, principal: Principal, filters: Filters, now: datetime | None = None,
              fold: bool = False) -> dict[str, Any]:
    """Everything the dashboard panel shows for these filters, and the charts' data; ``fold`` shows the units
    merged away in a 机构改革 within their successor (按改革后单位合并)."""
    made, units, regions = overview(session, principal=principal, filters=filters, now=now, fold=fold)
    steps = bottlenecks(session, principal=principal, filters=filters, limit=TOP_STEPS, now=now)
    cards = cards_now(session, principal=principal, filters=filters, now=now)
    live = [row for figure in ("red_now", "yellow_now") for row in drilldown(
        session, principal=principal, filters=filters, figure=figure, limit=LIVE_CARDS, now=now).items]
    buckets = trend(session, principal=principal, filters=filters, now=now)
    period = filters.period.label
    charts = {
        "trend": [{"label": b.label, "submitted": b.submitted, "concluded": b.concluded,
                   "on_time_rate": None if b.on_time_rate is None else round(b.on_time_rate * 100, 1),
                   "href": cases_href(filters, "concluded", period=b.period),
                   "submitted_href": cases_href(filters, "submitted", period=b.period)} for b in buckets],
        "regions": [{"name": r.name, "concluded": r.concluded, "overdue_now": r.overdue_now,
                     "on_time_rate": None if r.on_time_rate is None else round(r.on_time_rate * 100, 1),
                     "href": cases_href(filters, "concluded", region_id=r.id)} for r in regions.rows],
        "units": [{"name": r.name, "concluded": r.concluded, "overdue_now": r.overdue_now,
                   "on_time_rate": None if r.on_time_rate is None else round(r.on_time_rate * 100, 1),
                   "href": f"/monitor/units/{r.id}?" + urlencode({"period": period})} for r in units.rows[:TOP_UNITS]],
        "steps": [{"name": f"{s.step_name}（{s.unit_name}）", "matter": s.matter_name,
                   "average_days": None if s.average_days is None else round(s.average_days, 2),
                   "overdue_open": s.overdue_open,
                   "href": f"/monitor/matters/{s.local_matter_id}?" + urlencode({"period": period})}
                  for s in steps.rows],
    }
    return {
        "figures": made, "tiles": _tiles(made, filters), "units": units, "regions": regions, "steps": steps,
        "cards": cards, "live": live, "charts": charts, "definitions": DEFINITIONS,
        "refresh_seconds": REFRESH_SECONDS,
    }


def period_suggestions(today: date) -> list[tuple[str, str]]:
    """Periods to pick from: this and last month, quarter and year."""
    quarter = (today.month - 1) // 3 + 1
    last_month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    last_quarter = (today.year, quarter - 1) if quarter > 1 else (today.year - 1, 4)
    return [
        (f"{today.year}-{today.month:02d}", "本月"), (f"{last_month[0]}-{last_month[1]:02d}", "上月"),
        (f"{today.year}Q{quarter}", "本季度"), (f"{last_quarter[0]}Q{last_quarter[1]}", "上季度"),
        (str(today.year), "本年"), (str(today.year - 1), "上年"),
    ]
