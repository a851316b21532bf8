"""monitor: the card events' partial indexes also carry the case id (index-only counts of carded cases)

Revision ID: 0016
Revises: 0024
Create Date: 2026-12-02 20:05:00

The yearly "cases that got a yellow / red card" figures counted distinct case ids of the card events in the
period: with only ``at`` in the partial index, every event found was read from the table as well. With
``(at, case_id)`` the count reads the index alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

YELLOW = sa.text("type = 'case.card_yellow'")
RED = sa.text("type = 'case.card_red'")


def _remake(columns: list[str]) -> None:
    op.drop_index("ix_event_card_yellow_at", table_name="event")
    op.drop_index("ix_event_card_red_at", table_name="event")
    op.create_index("ix_event_card_yellow_at", "event", columns, postgresql_where=YELLOW, sqlite_where=YELLOW)
    op.create_index("ix_event_card_red_at", "event", columns, postgresql_where=RED, sqlite_where=RED)


def upgrade() -> None:
    _remake(["at", "case_id"])


def downgrade() -> None:
    _remake(["at"])
