"""Monitoring: day summaries of closed local days, and indexes for the direct queries' anchors

No column is added to ``case``: channel and trips already exist (trips default 0).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import xietong.db.base

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

YELLOW = sa.text("type = 'case.card_yellow'")
RED = sa.text("type = 'case.card_red'")


def upgrade() -> None:
    op.create_table('monitor_summary',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('through', sa.Date(), nullable=False),
    sa.Column('refreshed_at', xietong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitor_summary'))
    )
    op.create_table('monitor_case_day',
    sa.Column('span', sa.String(length=1), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('local_matter_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('region_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('handling_unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('submitted', sa.Integer(), nullable=False),
    sa.Column('online', sa.Integer(), nullable=False),
    sa.Column('mobile', sa.Integer(), nullable=False),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('concluded', sa.Integer(), nullable=False),
    sa.Column('granted', sa.Integer(), nullable=False),
    sa.Column('denied', sa.Integer(), nullable=False),
    sa.Column('on_time', sa.Integer(), nullable=False),
    sa.Column('late', sa.Integer(), nullable=False),
    sa.Column('zero_trip', sa.Integer(), nullable=False),
    sa.Column('immediate_concluded', sa.Integer(), nullable=False),
    sa.Column('days_sum', sa.Integer(), nullable=False),
    sa.Column('days_cases', sa.Integer(), nullable=False),
    sa.Column('timed_days_sum', sa.Integer(), nullable=False),
    sa.Column('timed_legal_sum', sa.Integer(), nullable=False),
    sa.Column('timed_cases', sa.Integer(), nullable=False),
    sa.Column('rated', sa.Integer(), nullable=False),
    sa.Column('satisfied', sa.Integer(), nullable=False),
    sa.Column('dissatisfied', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['handling_unit_id'], ['unit.id'], name=op.f('fk_monitor_case_day_handling_unit_id_unit')),
    sa.ForeignKeyConstraint(['local_matter_id'], ['local_matter.id'], name=op.f('fk_monitor_case_day_local_matter_id_local_matter')),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_monitor_case_day_region_id_region')),
    sa.PrimaryKeyConstraint('span', 'day', 'local_matter_id', name=op.f('pk_monitor_case_day'))
    )
    op.create_table('monitor_days_used_day',
    sa.Column('span', sa.String(length=1), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('local_matter_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('working_days', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('handling_unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['handling_unit_id'], ['unit.id'], name=op.f('fk_monitor_days_used_day_handling_unit_id_unit')),
    sa.ForeignKeyConstraint(['local_matter_id'], ['local_matter.id'], name=op.f('fk_monitor_days_used_day_local_matter_id_local_matter')),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_monitor_days_used_day_region_id_region')),
    sa.PrimaryKeyConstraint('span', 'day', 'local_matter_id', 'working_days', name=op.f('pk_monitor_days_used_day'))
    )
    op.create_table('monitor_step_day',
    sa.Column('span', sa.String(length=1), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('local_matter_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('node_id', sa.String(length=64), nullable=False),
    sa.Column('unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('region_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('handling_unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('closed', sa.Integer(), nullable=False),
    sa.Column('days_sum', sa.Integer(), nullable=False),
    sa.Column('days_n', sa.Integer(), nullable=False),
    sa.Column('max_days', sa.Integer(), nullable=True),
    sa.Column('overdue_closed', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['handling_unit_id'], ['unit.id'], name=op.f('fk_monitor_step_day_handling_unit_id_unit')),
    sa.ForeignKeyConstraint(['local_matter_id'], ['local_matter.id'], name=op.f('fk_monitor_step_day_local_matter_id_local_matter')),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_monitor_step_day_region_id_region')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_monitor_step_day_unit_id_unit')),
    sa.PrimaryKeyConstraint('span', 'day', 'local_matter_id', 'node_id', 'unit_id', name=op.f('pk_monitor_step_day'))
    )
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
    for table in ('monitor_step_day', 'monitor_days_used_day', 'monitor_case_day', 'monitor_summary'):
        op.drop_table(table)
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
