"""The indexes monitoring's queries read (monitoring has no tables of its own: it counts the cases').

Declared here, on the other domains' tables, so the figures' needs stay in one place. Each serves an anchor:
conclusions and acceptances by time, closed steps by time, card events by time (partial: only the two
card event types, so the hot path's other events write no entry), urges, ratings and orders by time.
"""

from __future__ import annotations

from sqlalchemy import Index, text

from xietong.cases.models import Case, Event
from xietong.engine.models import Task
from xietong.oversight.models import OversightOrder, Rating, Urge

YELLOW = text("type = 'case.card_yellow'")
RED = text("type = 'case.card_red'")

INDEXES = (
    Index("ix_case_concluded", Case.concluded_at),
    Index("ix_case_accepted", Case.accepted_at),
    Index("ix_task_completed", Task.completed_at),
    Index("ix_event_card_yellow_at", Event.at, postgresql_where=YELLOW, sqlite_where=YELLOW),
    Index("ix_event_card_red_at", Event.at, postgresql_where=RED, sqlite_where=RED),
    Index("ix_urge_at", Urge.at),
    Index("ix_rating_at", Rating.at),
    Index("ix_oversight_order_kind_created", OversightOrder.kind, OversightOrder.created_at),
)
