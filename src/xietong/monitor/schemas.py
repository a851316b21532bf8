"""What monitoring answers (the API's response bodies and the spreadsheets' rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class Rate(BaseModel):
    """A ratio with its parts: ``value`` is None when the denominator is zero."""

    key: str
    label: str
    value: float | None
    numerator: int
    denominator: int
    numerator_figure: str | None = None  # the figure to drill into for the numerator's cases
    denominator_figure: str | None = None
    variant: str = ""


class Count(BaseModel):
    key: str
    label: str
    value: int


class DayFigures(BaseModel):
    """Working days used by the period's concluded cases (pauses excluded)."""

    cases: int
    average: float | None
    median: float | None


class SpeedUp(BaseModel):
    """承诺提速率 over the matters in force (可办率 side): 1 − Σ promised ÷ Σ legal, immediate matters apart."""

    matters: int
    promised_sum: int
    legal_sum: int
    value: float | None
    immediate_matters: int


class Figures(BaseModel):
    filters: dict[str, Any]
    as_of: datetime
    counts: list[Count]
    rates: list[Rate]
    days: DayFigures
    urges: int
    supervision_orders: int
    promised_speed_up: SpeedUp

    def count(self, key: str) -> int:
        return next(c.value for c in self.counts if c.key == key)

    def rate(self, key: str) -> Rate:
        return next(r for r in self.rates if r.key == key)


class RankRow(BaseModel):
    rank: int
    id: int
    name: str
    region_name: str
    submitted: int
    concluded: int
    on_time: int
    on_time_rate: float | None
    overdue_now: int
    red_cards: int
    average_days: float | None
    actual_speed_up: float | None
    satisfaction: float | None
    rated: int
    folded: list[str] = []  # 按改革后单位合并: the names of the merged-away units counted in this row


class Ranking(BaseModel):
    filters: dict[str, Any]
    as_of: datetime
    by: str  # unit | region
    rows: list[RankRow]
    folded: bool = False  # units merged in a 机构改革 shown within their successor


class StepRow(BaseModel):
    """One step of one matter at one unit: how long it held cases, and how often too long."""

    local_matter_id: int
    matter_name: str
    node_id: str
    step_name: str
    unit_id: int
    unit_name: str
    closed: int
    average_days: float | None
    max_days: int | None
    overdue_closed: int  # closed after the step's due time
    open_now: int
    overdue_open: int  # open now, past the step's due time


class Bottlenecks(BaseModel):
    filters: dict[str, Any]
    as_of: datetime
    rows: list[StepRow]


class CardRow(BaseModel):
    id: int
    name: str
    yellow: int
    red: int
    overdue: int


class CardsNow(BaseModel):
    as_of: datetime
    yellow: int
    red: int
    overdue: int
    units: list[CardRow]


class CaseRow(BaseModel):
    id: int
    number: str
    title: str
    matter_name: str
    local_matter_id: int
    region_id: int
    region_name: str
    handling_unit_id: int
    handling_unit_name: str
    status: str
    status_label: str
    channel: str
    submitted_at: datetime | None
    accepted_at: datetime | None
    due_at: datetime | None
    concluded_at: datetime | None
    working_days_used: int | None
    card: str
    overdue_working_days: int | None  # past its due time: open now, or concluded late
