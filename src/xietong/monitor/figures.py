"""The dashboard's figures for a period and filters, and the rankings of units and regions built from them."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from xietong.cases.models import Case
from xietong.catalog.models import LocalMatter, MatterVersion
from xietong.db.base import utcnow
from xietong.directory.models import Region, Unit
from xietong.directory.service.reorganisation.lineage import successor_map
from xietong.monitor.access import monitor_scope
from xietong.monitor.filters import Filters
from xietong.monitor.measures import MEASURES, Window
from xietong.monitor.schemas import Count, DayFigures, Figures, Ranking, RankRow, Rate, SpeedUp
from xietong.monitor.tallies import Tally, fold, median_days, tallies
from xietong.security.principal import Principal

#: (key, label, numerator figure, denominator figure)
RATES = (
    ("on_time_rate", "按时办结率", "on_time", "concluded"),
    ("online_rate", "网办率", "online", "submitted"),
    ("mobile_rate", "掌上办率", "mobile", "submitted"),
    ("zero_trip_rate", "跑零次率", "zero_trip", "concluded"),
    ("satisfaction", "满意率", "satisfied", "rated"),
    ("bad_rating_rate", "差评率", "dissatisfied", "rated"),
    ("rectification_on_time_rate", "整改按期办结率", "rectified_on_time", "rectifications"),
)


def window_of(filters: Filters, now: datetime | None) -> Window:
    start, end = filters.bounds()
    return Window(start=start, end=end, now=now or utcnow())


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _rates(tally: Tally) -> list[Rate]:
    rates = [
        Rate(key=key, label=label, value=ratio(tally.count(num), tally.count(den)), numerator=tally.count(num),
             denominator=tally.count(den), numerator_figure=num, denominator_figure=den)
        for key, label, num, den in RATES
    ]
    rates.append(actual_speed_up(tally))
    return rates


def actual_speed_up(tally: Tally) -> Rate:
    """实际提速率 (办件率 side): 1 − Σ working days used ÷ Σ legal limits, over concluded promised cases."""
    used, legal = tally.sums.get("timed_days_sum", 0), tally.sums.get("timed_legal_sum", 0)
    return Rate(
        key="actual_speed_up", label="实际提速率", value=(1 - used / legal) if legal else None,
        numerator=used, denominator=legal, denominator_figure="concluded",
        variant="1 − Σ实际用时（工作日）÷ Σ法定时限，按期内办结的承诺件；即办件不计入，另行计数",
    )


def figures(session: Session, *, principal: Principal, filters: Filters, now: datetime | None = None) -> Figures:
    """Every dashboard figure for the cases this principal supervises that match the filters."""
    scope, window = monitor_scope(principal), window_of(filters, now)
    tally = tallies(session, scope=scope, filters=filters, window=window).get(None, Tally())
    return _figures(session, scope, filters, window, tally)


def _figures(session: Session, scope: Any, filters: Filters, window: Window, tally: Tally) -> Figures:
    days_cases = tally.sums.get("days_cases", 0)
    return Figures(
        filters=filters.described(),
        as_of=window.now,
        counts=[Count(key=m.key, label=m.label, value=tally.count(m.key)) for m in MEASURES],
        rates=_rates(tally),
        days=DayFigures(
            cases=days_cases,
            average=ratio(tally.sums.get("days_sum", 0), days_cases),
            median=median_days(session, scope=scope, filters=filters, window=window),
        ),
        urges=tally.urges,
        supervision_orders=tally.supervision_orders,
        promised_speed_up=promised_speed_up(session, filters=filters),
    )


RANK_KEYS = frozenset({"submitted", "concluded", "on_time", "overdue_now", "red_cards", "rated", "satisfied"})


def ranking(
    session: Session, *, principal: Principal, filters: Filters, by: str = "unit", now: datetime | None = None,
    fold_reorganised: bool = False,
) -> Ranking:
    """Units (by handling unit) or regions ranked: on-time rate first, then fewer overdue, then more concluded.

    ``fold_reorganised`` (units only) shows the units merged away in a 机构改革 within their successor
    (按改革后单位合并); without it every historical unit keeps its own row."""
    scope, window = monitor_scope(principal), window_of(filters, now)
    group = Case.handling_unit_id if by == "unit" else Case.region_id
    groups = tallies(session, scope=scope, filters=filters, window=window, group=group, keys=RANK_KEYS)
    return _ranking(session, filters, window, by, groups, fold_reorganised=fold_reorganised and by == "unit")


#: what ``overview`` counts per (handling unit, region): every case anchor's figures and the rankings' related ones
_PAIRED = frozenset(m.key for m in MEASURES if m.anchor != "related" or m.key in RANK_KEYS)
_UNPAIRED = frozenset(m.key for m in MEASURES) - _PAIRED


def overview(
    session: Session, *, principal: Principal, filters: Filters, now: datetime | None = None, fold: bool = False
) -> tuple[Figures, Ranking, Ranking]:
    """``figures``, ``ranking(by="unit")`` and ``ranking(by="region")`` at once, equal to the three calls.

    One tally grouped by (handling unit, region) serves all three: every case is in exactly one such pair, so
    the whole and each ranking's rows are sums of the pairs — distinct-case figures included. A ranking lists the
    groups its own figures' queries would have found (``Tally.seen``), not those found only by the others'.
    The whole's other related figures (and the urge and order totals) are one ungrouped tally added to it."""
    scope, window = monitor_scope(principal), window_of(filters, now)
    pairs = tallies(session, scope=scope, filters=filters, window=window,
                    group=(Case.handling_unit_id, Case.region_id), keys=_PAIRED)
    # The related figures no ranking shows (yellow cards, urged, orders…) are counted once, ungrouped: grouped,
    # PostgreSQL joined a quarter's 11,000 yellow-card rows to the whole case table by a hash (120 ms at 200k).
    whole = tallies(session, scope=scope, filters=filters, window=window, keys=_UNPAIRED).get(None, Tally())
    units: dict[Any, Tally] = defaultdict(Tally)
    regions: dict[Any, Tally] = defaultdict(Tally)
    for (unit, region), tally in pairs.items():
        whole.add(tally)
        units[unit].add(tally)
        regions[region].add(tally)
    return (_figures(session, scope, filters, window, whole),
            _ranking(session, filters, window, "unit", units, fold_reorganised=fold),
            _ranking(session, filters, window, "region", regions))


def _ranking(session: Session, filters: Filters, window: Window, by: str, groups: dict[Any, Tally], *,
             fold_reorganised: bool = False) -> Ranking:
    groups = {k: t for k, t in groups.items() if k is not None and t.seen & RANK_KEYS}
    folded: dict[int, list[int]] = {}
    if fold_reorganised:
        successors = {k: v for k, v in successor_map(session).items() if k in groups}
        for predecessor, successor in successors.items():
            folded.setdefault(successor, []).append(predecessor)
        groups = fold(groups, successors)
    names = _names(session, by, list(groups) + [p for ps in folded.values() for p in ps])
    rows = []
    for key, tally in groups.items():
        name, region_name = names.get(key, (str(key), ""))
        days = tally.sums.get("days_cases", 0)
        rows.append(RankRow(
            rank=0, id=key, name=name, region_name=region_name,
            submitted=tally.count("submitted"), concluded=tally.count("concluded"), on_time=tally.count("on_time"),
            on_time_rate=ratio(tally.count("on_time"), tally.count("concluded")),
            overdue_now=tally.count("overdue_now"), red_cards=tally.count("red_cards"),
            average_days=ratio(tally.sums.get("days_sum", 0), days),
            actual_speed_up=actual_speed_up(tally).value,
            satisfaction=ratio(tally.count("satisfied"), tally.count("rated")), rated=tally.count("rated"),
            folded=[names.get(p, (str(p), ""))[0] for p in sorted(folded.get(key, []))],
        ))
    rows.sort(key=lambda r: (r.on_time_rate is None, -(r.on_time_rate or 0), r.overdue_now, -r.concluded, r.name))
    for index, row in enumerate(rows, 1):
        row.rank = index
    return Ranking(filters=filters.described(), as_of=window.now, by=by, rows=rows, folded=fold_reorganised)


def _names(session: Session, by: str, ids: list[int]) -> dict[int, tuple[str, str]]:
    if not ids:
        return {}
    if by == "unit":
        query = select(Unit.id, Unit.name, Region.name).join(Region, Region.id == Unit.region_id)
        return {i: (n, r) for i, n, r in session.execute(query.where(Unit.id.in_(ids)))}
    return {i: (n, n) for i, n in session.execute(select(Region.id, Region.name).where(Region.id.in_(ids)))}


def promised_speed_up(session: Session, *, filters: Filters) -> SpeedUp:
    """承诺提速率 over the local matters whose version is in force at the period's end (the catalogue is public)."""
    _, end = filters.bounds()
    query = (
        select(
            func.count().label("matters"),
            func.coalesce(func.sum(MatterVersion.promised_limit_days), 0),
            func.coalesce(func.sum(MatterVersion.legal_limit_days), 0),
            func.count().filter(MatterVersion.legal_limit_days == 0),
        )
        .join(LocalMatter, LocalMatter.id == MatterVersion.local_matter_id)
        .where(
            MatterVersion.published_at.is_not(None), MatterVersion.published_at < end,
            or_(MatterVersion.retired_at.is_(None), MatterVersion.retired_at >= end),
        )
    )
    if filters.region_id is not None:
        query = query.where(LocalMatter.region_id == filters.region_id)
    if filters.unit_id is not None:
        query = query.where(LocalMatter.handling_unit_id == filters.unit_id)
    if (matter := filters.matter_clause(LocalMatter.id)) is not None:
        query = query.where(matter)
    matters, promised, legal, immediate = session.execute(query).one()
    return SpeedUp(
        matters=int(matters) - int(immediate), promised_sum=int(promised), legal_sum=int(legal),
        value=(1 - promised / legal) if legal else None, immediate_matters=int(immediate),
    )

