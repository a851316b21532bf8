"""Yellow and red cards on cases and overdue steps, recorded by the worker's timers (issue 4)

``case.card`` (none | yellow | red) and ``task.card`` (none | red): what the timer handlers of
``cases/cards.py`` record. Notifications and the calendar's overrides use tables that exist already.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("case", "task"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("card", sa.String(length=8), server_default="none", nullable=False))


def downgrade() -> None:
    for table in ("task", "case"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("card")
