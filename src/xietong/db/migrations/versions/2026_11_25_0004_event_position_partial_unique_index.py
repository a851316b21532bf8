"""Event position: a partial unique index (positioned events only) instead of a full unique constraint

Every event is inserted without a position; a NULL key in a full unique index is an extra index
write on the hot path for nothing.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQUENCED = sa.text("position IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_constraint("uq_event_position", type_="unique")
    op.create_index(
        "ux_event_position", "event", ["position"], unique=True, postgresql_where=SEQUENCED, sqlite_where=SEQUENCED
    )


def downgrade() -> None:
    op.drop_index("ux_event_position", table_name="event")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_event_position", ["position"])
