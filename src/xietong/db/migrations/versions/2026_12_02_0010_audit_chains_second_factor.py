"""Tamper-evident chains (audit records, global event chain, signed checkpoints), TOTP, session flags (issue 11)

The audit records already written are chained here, in id order, so the trail is whole from its first
record; events already sequenced are chained by the sequencer as it catches up (it may be many rows).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import xietong.db.base

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_chain',
    sa.Column('name', sa.String(length=20), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('base_seq', sa.BigInteger(), nullable=False),
    sa.Column('base_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_audit_chain'))
    )
    op.create_table('audit_checkpoint',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('chain', sa.String(length=20), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('at', xietong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('mac', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoint'))
    )
    with op.batch_alter_table('audit_checkpoint', schema=None) as batch_op:
        batch_op.create_index('ix_audit_checkpoint_chain_seq', ['chain', 'seq'], unique=False)

    op.create_table('recovery_code',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('used_at', xietong.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_recovery_code_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_code'))
    )
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_code_person_id'), ['person_id'], unique=False)

    op.create_table('second_factor',
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('secret', sa.String(length=64), nullable=False),
    sa.Column('created_at', xietong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', xietong.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_step', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_second_factor_person_id_person')),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_second_factor'))
    )
    with op.batch_alter_table('audit_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_audit_record_seq'), ['seq'])

    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chain_hash', sa.String(length=64), nullable=True))

    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('second_factor_at', xietong.db.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('must_change', sa.Boolean(), server_default=sa.false(), nullable=False))

    _chain_existing_records()


def _chain_existing_records() -> None:
    from xietong.security.audit_chain import GENESIS, record_hash

    bind = op.get_bind()
    record = sa.table(
        "audit_record", *(sa.column(name) for name in (
            "id", "actor_kind", "actor_id", "action", "target_kind", "target_id", "client_ip", "seq", "prev_hash", "hash"
        )),
        sa.column("at", xietong.db.base.UTCDateTime(timezone=True)),
        sa.column("detail", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
    )
    prev, seq = GENESIS, 0
    for row in bind.execute(sa.select(record).order_by(record.c.id)).mappings():
        seq += 1
        values = {**row, "seq": seq}
        digest = record_hash(prev, values)
        bind.execute(
            record.update().where(record.c.id == row["id"]).values(seq=seq, prev_hash=prev, hash=digest)
        )
        prev = digest
    chain = sa.table("audit_chain", *(sa.column(n) for n in ("name", "seq", "hash", "base_seq", "base_hash")))
    bind.execute(chain.insert().values(name="audit", seq=seq, hash=prev, base_seq=0, base_hash=GENESIS))
    bind.execute(chain.insert().values(name="event", seq=0, hash=GENESIS, base_seq=0, base_hash=GENESIS))



def downgrade() -> None:
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.drop_column('must_change')
        batch_op.drop_column('second_factor_at')

    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('chain_hash')

    with op.batch_alter_table('audit_record', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_record_seq'), type_='unique')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('seq')

    op.drop_table('second_factor')
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_code_person_id'))

    op.drop_table('recovery_code')
    with op.batch_alter_table('audit_checkpoint', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_checkpoint_chain_seq')

    op.drop_table('audit_checkpoint')
    op.drop_table('audit_chain')
