"""Monitoring's day summaries of closed local days, and the indexes its direct queries read.

The indexes are declared here, on the other domains' tables, so the figures' needs stay in one place. Each
serves an anchor: conclusions and acceptances by time, closed steps by time, card events by time (partial:
only the two card event types, so the hot path's other events write no entry), urges, ratings and orders.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from xietong.cases.models import Case, Event
from xietong.db.base import Base
from xietong.engine.models import Task
from xietong.oversight.models import OversightOrder, Rating, Urge

YELLOW = text("type = 'case.card_yellow'")
RED = text("type = 'case.card_red'")

INDEXES = (
    Index("ix_case_concluded", Case.concluded_at),
    Index("ix_case_accepted", Case.accepted_at),
    Index("ix_task_completed", Task.completed_at),
    # (at, case_id): the carded cases of a period are counted from the index alone
    Index("ix_event_card_yellow_at", Event.at, Event.case_id, postgresql_where=YELLOW, sqlite_where=YELLOW),
    Index("ix_event_card_red_at", Event.at, Event.case_id, postgresql_where=RED, sqlite_where=RED),
    Index("ix_urge_at", Urge.at),
    Index("ix_rating_at", Rating.at),
    Index("ix_oversight_order_kind_created", OversightOrder.kind, OversightOrder.created_at),
)


class CaseDay(Base):
    """Per local day (or whole month) and local matter: the case figures whose anchor falls in it (closed days).

    A submission, an acceptance, a conclusion and a rating never move once made, so a closed day's row stays
    true. Region and handling unit are part of the key: the cases of one matter on one day need not share them
    (a 机构改革 moves a matter and its open cases to the successor unit; its closed cases stay).
    """

    __tablename__ = "monitor_case_day"

    span: Mapped[str] = mapped_column(String(1), primary_key=True)  # d: the day; m: the month starting on day
    day: Mapped[date] = mapped_column(primary_key=True)
    local_matter_id: Mapped[int] = mapped_column(ForeignKey("local_matter.id"), primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), primary_key=True)
    handling_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    submitted: Mapped[int] = mapped_column(default=0)
    online: Mapped[int] = mapped_column(default=0)
    mobile: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)
    concluded: Mapped[int] = mapped_column(default=0)
    granted: Mapped[int] = mapped_column(default=0)
    denied: Mapped[int] = mapped_column(default=0)
    on_time: Mapped[int] = mapped_column(default=0)
    late: Mapped[int] = mapped_column(default=0)
    zero_trip: Mapped[int] = mapped_column(default=0)
    immediate_concluded: Mapped[int] = mapped_column(default=0)
    days_sum: Mapped[int] = mapped_column(default=0)
    days_cases: Mapped[int] = mapped_column(default=0)
    timed_days_sum: Mapped[int] = mapped_column(default=0)
    timed_legal_sum: Mapped[int] = mapped_column(default=0)
    timed_cases: Mapped[int] = mapped_column(default=0)
    # ratings (one per case, never changed) by the day they were given
    rated: Mapped[int] = mapped_column(default=0)
    satisfied: Mapped[int] = mapped_column(default=0)
    dissatisfied: Mapped[int] = mapped_column(default=0)


class DaysUsedDay(Base):
    """Per local day and local matter: how many cases concluded that day used each number of working days
    (the histogram an exact median is read from)."""

    __tablename__ = "monitor_days_used_day"

    span: Mapped[str] = mapped_column(String(1), primary_key=True)  # d: the day; m: the month starting on day
    day: Mapped[date] = mapped_column(primary_key=True)
    local_matter_id: Mapped[int] = mapped_column(ForeignKey("local_matter.id"), primary_key=True)
    working_days: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), primary_key=True)
    handling_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    cases: Mapped[int]


class StepDay(Base):
    """Per local day, local matter, step and the unit that held it: steps closed by a person that day.

    Closed by a person means decided, returned, transferred — or decided and later withdrawn (撤回): the
    withdrawn decision keeps its time and working days, so a closed day's row never changes.
    """

    __tablename__ = "monitor_step_day"

    span: Mapped[str] = mapped_column(String(1), primary_key=True)  # d: the day; m: the month starting on day
    day: Mapped[date] = mapped_column(primary_key=True)
    local_matter_id: Mapped[int] = mapped_column(ForeignKey("local_matter.id"), primary_key=True)
    node_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), primary_key=True)
    handling_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    closed: Mapped[int]
    days_sum: Mapped[int]
    days_n: Mapped[int]
    max_days: Mapped[int | None]
    overdue_closed: Mapped[int]


class SummaryState(Base):
    """How far the day tables reach: every local day up to ``through`` is summarised (one row, id 1)."""

    __tablename__ = "monitor_summary"

    id: Mapped[int] = mapped_column(primary_key=True)
    through: Mapped[date]
    refreshed_at: Mapped[datetime]
