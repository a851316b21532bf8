"""Monitoring: indexes for the dashboard's anchors (conclusions, acceptances, closed steps, cards, oversight)

No column is added: channel and trips already exist on ``case`` (trips default 0).

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

YELLOW = sa.text("type = 'case.card_yellow'")
RED = sa.text("type = 'case.card_red'")


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.create_index('ix_case_concluded', ['concluded_at'], unique=False)
        batch_op.create_index('ix_case_accepted', ['accepted_at'], unique=False)
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.create_index('ix_task_completed', ['completed_at'], unique=False)
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index('ix_event_card_yellow_at', ['at'], unique=False,
                              postgresql_where=YELLOW, sqlite_where=YELLOW)
        batch_op.create_index('ix_event_card_red_at', ['at'], unique=False, postgresql_where=RED, sqlite_where=RED)
    with op.batch_alter_table('urge', schema=None) as batch_op:
        batch_op.create_index('ix_urge_at', ['at'], unique=False)
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.create_index('ix_rating_at', ['at'], unique=False)
    with op.batch_alter_table('oversight_order', schema=None) as batch_op:
        batch_op.create_index('ix_oversight_order_kind_created', ['kind', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('oversight_order', schema=None) as batch_op:
        batch_op.drop_index('ix_oversight_order_kind_created')
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.drop_index('ix_rating_at')
    with op.batch_alter_table('urge', schema=None) as batch_op:
        batch_op.drop_index('ix_urge_at')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index('ix_event_card_red_at')
        batch_op.drop_index('ix_event_card_yellow_at')
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index('ix_task_completed')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_accepted')
        batch_op.drop_index('ix_case_concluded')
