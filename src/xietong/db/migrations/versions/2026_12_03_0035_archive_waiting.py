"""Archived cases waiting for their provincial e-seal, so the archive follower no longer stops at the first one

Revision ID: 0035
Revises: 0029
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import xietong.db.base

revision: str = "0035"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "archive_waiting",
        sa.Column("case_id", BIG_ID, nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("since", xietong.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_archive_waiting_case_id_case")),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_archive_waiting")),
    )


def downgrade() -> None:
    op.drop_table("archive_waiting")
