"""Oversight: urges, supervision and rectification orders, ratings, saved opinion phrases (issue 4)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import xietong.db.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('saved_opinion',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', xietong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_saved_opinion_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_opinion'))
    )
    with op.batch_alter_table('saved_opinion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_opinion_person_id'), ['person_id'], unique=False)

    op.create_table('oversight_order',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('issued_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('deadline_at', xietong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('overdue', sa.Boolean(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('answered_at', xietong.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_back', sa.Integer(), nullable=False),
    sa.Column('closed_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('closed_at', xietong.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', xietong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['answered_by_id'], ['person.id'], name=op.f('fk_oversight_order_answered_by_id_person')),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_oversight_order_case_id_case')),
    sa.ForeignKeyConstraint(['closed_by_id'], ['person.id'], name=op.f('fk_oversight_order_closed_by_id_person')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['person.id'], name=op.f('fk_oversight_order_issued_by_id_person')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_oversight_order_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oversight_order'))
    )
    with op.batch_alter_table('oversight_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oversight_order_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oversight_order_issued_by_id'), ['issued_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oversight_order_unit_id'), ['unit_id'], unique=False)

    op.create_table('urge',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', xietong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['by_id'], ['person.id'], name=op.f('fk_urge_by_id_person')),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_urge_case_id_case')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_urge'))
    )
    with op.batch_alter_table('urge', schema=None) as batch_op:
        batch_op.create_index('ix_urge_case_by_at', ['case_id', 'by_id', 'at'], unique=False)

    op.create_table('rating',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('at', xietong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('rectification_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['by_id'], ['person.id'], name=op.f('fk_rating_by_id_person')),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_rating_case_id_case')),
    sa.ForeignKeyConstraint(['rectification_id'], ['oversight_order.id'], name=op.f('fk_rating_rectification_id_oversight_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rating')),
    sa.UniqueConstraint('case_id', name=op.f('uq_rating_case_id'))
    )
    op.create_table('urge_task',
    sa.Column('urge_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], name=op.f('fk_urge_task_task_id_task')),
    sa.ForeignKeyConstraint(['urge_id'], ['urge.id'], name=op.f('fk_urge_task_urge_id_urge')),
    sa.PrimaryKeyConstraint('urge_id', 'task_id', name=op.f('pk_urge_task'))
    )
    with op.batch_alter_table('urge_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_urge_task_task_id'), ['task_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('urge_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_urge_task_task_id'))

    op.drop_table('urge_task')
    op.drop_table('rating')
    with op.batch_alter_table('urge', schema=None) as batch_op:
        batch_op.drop_index('ix_urge_case_by_at')

    op.drop_table('urge')
    with op.batch_alter_table('oversight_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oversight_order_unit_id'))
        batch_op.drop_index(batch_op.f('ix_oversight_order_issued_by_id'))
        batch_op.drop_index(batch_op.f('ix_oversight_order_case_id'))

    op.drop_table('oversight_order')
    with op.batch_alter_table('saved_opinion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saved_opinion_person_id'))

    op.drop_table('saved_opinion')
