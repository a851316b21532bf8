"""The countable figures: each a set of cases, given by an anchor (which time puts a case in the period)
and a condition. A figure's count and its drill-down list are built from the same clauses, so they agree.

Anchors: ``submitted`` / ``accepted`` / ``concluded`` — that time of the case lies in the period;
``now`` — the case is open now (the period does not apply: these figures are "as of now"); the oversight
anchors — a card event, an urge, an order or a rating of the case lies in the period (or, for open
orders, is open now). The docs table (docs/monitor.md) lists them with their numerators and denominators.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, literal, not_, select

from xietong.cases.enums import OPEN_STATUSES, PAUSED_STATUSES, CaseStatus, Channel
from xietong.cases.models import Case, Event
from xietong.errors import InvalidInput
from xietong.oversight.enums import BAD_LEVELS, Level, OrderKind, OrderState
from xietong.oversight.models import OversightOrder, Rating, Urge

ONLINE = (Channel.WEB.value, Channel.MOBILE.value, Channel.API.value)
RUNNING = (CaseStatus.ACCEPTED.value, CaseStatus.IN_PROGRESS.value)
GOOD_LEVELS = (Level.VERY_SATISFIED.value, Level.SATISFIED.value)
CARD_EVENTS = {"yellow": "case.card_yellow", "red": "case.card_red"}


@dataclass(frozen=True)
class Window:
    """The period's UTC bounds [start, end) and the instant "now" means."""

    start: datetime
    end: datetime
    now: datetime


Condition = Callable[[Window], ColumnElement[bool]]
#: the cases a related table puts in the figure: a SELECT of their ids (``case_id``)
Related = Callable[[Window], Select[tuple[int]]]


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    anchor: str  # submitted | accepted | concluded | now | related
    condition: Condition | None = None
    related: Related | None = None

    def clause(self, window: Window) -> ColumnElement[bool]:
        """The cases of this figure, as one condition on ``case`` (drill-down uses exactly this)."""
        parts = [anchor_clause(self.anchor, window)] if self.anchor != "related" else []
        if self.condition is not None:
            parts.append(self.condition(window))
        if self.related is not None:
            parts.append(Case.id.in_(self.related(window)))
        return and_(*parts)


def anchor_clause(anchor: str, w: Window) -> ColumnElement[bool]:
    if anchor == "submitted":
        return and_(Case.submitted_at >= w.start, Case.submitted_at < w.end)
    if anchor == "accepted":
        return and_(Case.accepted_at >= w.start, Case.accepted_at < w.end)
    if anchor == "concluded":
        return and_(Case.concluded_at >= w.start, Case.concluded_at < w.end)
    if anchor == "now":
        return Case.status.in_([s.value for s in OPEN_STATUSES])
    raise ValueError(anchor)


def _on_time(w: Window) -> ColumnElement[bool]:
    return and_(Case.due_at.is_not(None), Case.concluded_at <= Case.due_at)


def _cards(kind: str) -> Related:
    def related(w: Window) -> Select[tuple[int]]:
        # the type written into the SQL, not bound: only then can SQLite see that the partial index
        # ix_event_card_*_at (WHERE type = '…') applies — with a parameter it scans the whole event table
        card = literal(CARD_EVENTS[kind], literal_execute=True)
        return select(Event.case_id).where(Event.type == card, Event.at >= w.start, Event.at < w.end)
    return related


def _urged(w: Window) -> Select[tuple[int]]:
    return select(Urge.case_id).where(Urge.at >= w.start, Urge.at < w.end)


def _orders(kind: str, *extra: Callable[[Window], ColumnElement[bool]], now: bool = False) -> Related:
    def related(w: Window) -> Select[tuple[int]]:
        when = (
            OversightOrder.state != OrderState.CLOSED.value
            if now
            else and_(OversightOrder.created_at >= w.start, OversightOrder.created_at < w.end)
        )
        return select(OversightOrder.case_id).where(
            OversightOrder.kind == kind, when, *(condition(w) for condition in extra)
        )
    return related


def _rated(levels: tuple[str, ...] | None = None) -> Related:
    def related(w: Window) -> Select[tuple[int]]:
        query = select(Rating.case_id).where(Rating.at >= w.start, Rating.at < w.end)
        return query.where(Rating.level.in_(levels)) if levels is not None else query
    return related


MEASURES: tuple[Measure, ...] = (
    # volumes
    Measure("submitted", "申请量", "submitted"),
    Measure("online", "网上申请量", "submitted", lambda w: Case.channel.in_(ONLINE)),
    Measure("mobile", "掌上申请量", "submitted", lambda w: Case.channel == Channel.MOBILE.value),
    Measure("accepted", "受理量", "accepted"),
    Measure("concluded", "办结量", "concluded"),
    Measure("granted", "准予办结", "concluded", lambda w: Case.result == "granted"),
    Measure("denied", "不予办结", "concluded", lambda w: Case.result == "denied"),
    Measure("on_time", "按时办结", "concluded", _on_time),
    Measure("late", "超期办结", "concluded", lambda w: not_(_on_time(w))),
    Measure("zero_trip", "跑零次办结", "concluded", lambda w: Case.trips == 0),
    Measure("immediate_concluded", "即办件办结", "concluded", lambda w: Case.legal_limit_days == 0),
    # as of now
    Measure("in_progress", "在办件", "now"),
    Measure("paused_now", "暂停计时（补正、挂起、特别程序）", "now",
            lambda w: Case.status.in_([s.value for s in PAUSED_STATUSES])),
    Measure("overdue_now", "逾期在办", "now",
            lambda w: and_(Case.status.in_(RUNNING), Case.due_at.is_not(None), Case.due_at < w.now)),
    Measure("yellow_now", "当前黄牌", "now", lambda w: Case.card == "yellow"),
    Measure("red_now", "当前红牌", "now", lambda w: Case.card == "red"),
    # cards, urges, orders and ratings in the period
    Measure("yellow_cards", "期内亮黄牌办件", "related", related=_cards("yellow")),
    Measure("red_cards", "期内亮红牌办件", "related", related=_cards("red")),
    Measure("urged", "期内被催办办件", "related", related=_urged),
    Measure("supervised", "期内督办办件", "related", related=_orders(OrderKind.SUPERVISION.value)),
    Measure("supervision_overdue", "期内督办逾期未答复办件", "related",
            related=_orders(OrderKind.SUPERVISION.value, lambda w: OversightOrder.overdue.is_(True))),
    Measure("supervision_open", "督办未办结办件（当前）", "related",
            related=_orders(OrderKind.SUPERVISION.value, now=True)),
    Measure("rated", "期内评价", "related", related=_rated()),
    Measure("satisfied", "满意评价（非常满意、满意）", "related", related=_rated(GOOD_LEVELS)),
    Measure("dissatisfied", "差评（不满意、非常不满意）", "related", related=_rated(tuple(sorted(BAD_LEVELS)))),
    Measure("rectifications", "期内整改", "related", related=_orders(OrderKind.RECTIFICATION.value)),
    Measure("rectified_on_time", "整改按期办结", "related", related=_orders(
        OrderKind.RECTIFICATION.value,
        lambda w: and_(OversightOrder.closed_at.is_not(None), OversightOrder.closed_at <= OversightOrder.deadline_at),
    )),
)
BY_KEY = {m.key: m for m in MEASURES}


def measure(key: str) -> Measure:
    """The figure named ``key``; an unknown name is a 422."""
    found = BY_KEY.get(key)
    if found is None:
        raise InvalidInput(code="unknown_figure", detail=f"没有名为“{key}”的统计指标")
    return found

