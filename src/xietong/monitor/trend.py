"""The trend of a period: submissions, conclusions and the on-time rate per day (a period up to two months) or
per month (longer), each bucket counted by ``tallies`` with the same definitions, summaries and scope as the
headline figures — so the buckets add up to the period's figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from xietong.monitor.access import monitor_scope
from xietong.monitor.figures import ratio, window_of
from xietong.monitor.filters import Filters, Period
from xietong.monitor.summary import CASE_DAY, adapt, summarised_through
from xietong.monitor.tallies import tallies
from xietong.security.principal import Principal

TREND_KEYS = frozenset({"submitted", "concluded", "on_time"})
DAILY_UP_TO = 62  # days: a longer period is shown by month


@dataclass(frozen=True)
class Bucket:
    label: str
    period: str  # the bucket as a period (a drill-down link's ``period``)
    submitted: int
    concluded: int
    on_time: int
    on_time_rate: float | None


def buckets_of(period: Period) -> list[Period]:
    """The period cut into days, or into (clipped) months when it is longer than two months."""
    if (period.last - period.first).days < DAILY_UP_TO:
        days = (period.last - period.first).days + 1
        return [_day(period.first + timedelta(days=i)) for i in range(days)]
    pieces, first = [], period.first
    while first <= period.last:
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        last = min(following - timedelta(days=1), period.last)
        whole = first.day == 1 and last == following - timedelta(days=1)
        label = f"{first:%Y-%m}" if whole else f"{first:%Y-%m-%d}..{last:%Y-%m-%d}"
        pieces.append(Period(first, last, label, "month" if whole else "range"))
        first = last + timedelta(days=1)
    return pieces


def _day(day: date) -> Period:
    return Period(day, day, f"{day:%Y-%m-%d}..{day:%Y-%m-%d}", "range")


def trend(session: Session, *, principal: Principal, filters: Filters, now: datetime | None = None) -> list[Bucket]:
    """Per bucket of the period: submitted, concluded, on-time and the on-time rate.

    The buckets the summaries hold whole (a day, a month) are read in one query per span of their day or month
    rows — the very rows ``tallies`` would read for each of them alone; the others (clipped months, days not yet
    summarised) one by one."""
    scope = monitor_scope(principal)
    pieces = buckets_of(filters.period)
    through = summarised_through(session)
    held: dict[Period, str] = {}
    for p in pieces:
        if through is not None and p.last <= through and (p.kind == "month" or p.first == p.last):
            held[p] = "m" if p.kind == "month" else "d"
    found = {span: _held(session, scope, filters, span, [p.first for p, s in held.items() if s == span])
             for span in set(held.values())}
    result = []
    for piece in pieces:
        if piece in held:
            submitted, concluded, on_time = found[held[piece]].get(piece.first, (0, 0, 0))
        else:
            part = Filters(period=piece, region_id=filters.region_id, unit_id=filters.unit_id,
                           local_matter_id=filters.local_matter_id, tz=filters.tz,
                           follow_lineage=filters.follow_lineage)
            tally = tallies(session, scope=scope, filters=part, window=window_of(part, now), keys=TREND_KEYS).get(None)
            submitted, concluded, on_time = (tally.count(k) if tally else 0 for k in ("submitted", "concluded",
                                                                                    "on_time"))
        label = f"{piece.first:%m-%d}" if piece.first == piece.last else f"{piece.first:%Y-%m}"
        result.append(Bucket(label=label, period=piece.label, submitted=submitted, concluded=concluded,
                             on_time=on_time, on_time_rate=ratio(on_time, concluded)))
    return result


def _held(session: Session, scope: ColumnElement[bool], filters: Filters, span: str, days: list[date]
          ) -> dict[date, tuple[int, int, int]]:
    """Submitted, concluded and on-time of summarised days or months (``span``), from their rows, per bucket."""
    t = CASE_DAY
    query = (
        select(t.c.day, *(func.coalesce(func.sum(t.c[k]), 0) for k in ("submitted", "concluded", "on_time")))
        .where(*(adapt(w, t) for w in (scope, *filters.case_clauses())), t.c.span == span, t.c.day.in_(days))
        .group_by(t.c.day)
    )
    return {day: (int(a), int(b), int(c)) for day, a, b, c in session.execute(query)}
