"""Unit lineage (issue 12, 机构改革): which unit became which in a merge, split or rename

Revision ID: 0026
Revises: 0020
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from xietong.db.base import UTCDateTime

revision: str = "0026"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "unit_lineage",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("reorganisation", sa.String(32), nullable=False),
        sa.Column("predecessor_id", BIG_ID, nullable=False),
        sa.Column("successor_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("predecessor_name", sa.String(200), nullable=False),
        sa.Column("successor_name", sa.String(200), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("by_id", BIG_ID, nullable=True),
        sa.ForeignKeyConstraint(["predecessor_id"], ["unit.id"], name=op.f("fk_unit_lineage_predecessor_id_unit")),
        sa.ForeignKeyConstraint(["successor_id"], ["unit.id"], name=op.f("fk_unit_lineage_successor_id_unit")),
        sa.ForeignKeyConstraint(["by_id"], ["person.id"], name=op.f("fk_unit_lineage_by_id_person")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_lineage")),
    )
    with op.batch_alter_table("unit_lineage") as batch:
        batch.create_index("ix_unit_lineage_reorganisation", ["reorganisation"])
        batch.create_index("ix_unit_lineage_predecessor_id", ["predecessor_id"])
        batch.create_index("ix_unit_lineage_successor_id", ["successor_id"])


def downgrade() -> None:
    op.drop_table("unit_lineage")
