"""Matter granularity (issue 9 item 3): the base matters' hierarchy, the lineage of splits and merges, 办理情形

Revision ID: 0028
Revises: 0025
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from xietong.db.base import UTCDateTime

revision: str = "0028"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("base_matter") as batch:
        batch.add_column(sa.Column("parent_id", BIG_ID, nullable=True))
        batch.add_column(sa.Column("level", sa.String(length=8), nullable=True))
        batch.create_foreign_key(op.f("fk_base_matter_parent_id_base_matter"), "base_matter", ["parent_id"], ["id"])
        batch.create_index(op.f("ix_base_matter_parent_id"), ["parent_id"])
    op.create_table(
        "matter_lineage",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("operation", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("predecessor_id", BIG_ID, nullable=False),
        sa.Column("predecessor_code", sa.String(length=64), nullable=False),
        sa.Column("successor_id", BIG_ID, nullable=False),
        sa.Column("successor_code", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("by_id", BIG_ID, nullable=True),
        sa.ForeignKeyConstraint(["predecessor_id"], ["local_matter.id"],
                                name=op.f("fk_matter_lineage_predecessor_id_local_matter")),
        sa.ForeignKeyConstraint(["successor_id"], ["local_matter.id"],
                                name=op.f("fk_matter_lineage_successor_id_local_matter")),
        sa.ForeignKeyConstraint(["by_id"], ["person.id"], name=op.f("fk_matter_lineage_by_id_person")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matter_lineage")),
        sa.UniqueConstraint("predecessor_id", "successor_id", name=op.f("uq_matter_lineage_predecessor_id_successor_id")),
    )
    op.create_index(op.f("ix_matter_lineage_successor_id"), "matter_lineage", ["successor_id"])
    with op.batch_alter_table("matter_version") as batch:
        batch.add_column(sa.Column("situations", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("matter_version") as batch:
        batch.drop_column("situations")
    op.drop_index(op.f("ix_matter_lineage_successor_id"), table_name="matter_lineage")
    op.drop_table("matter_lineage")
    with op.batch_alter_table("base_matter") as batch:
        batch.drop_index(op.f("ix_base_matter_parent_id"))
        batch.drop_constraint(op.f("fk_base_matter_parent_id_base_matter"), type_="foreignkey")
        batch.drop_column("level")
        batch.drop_column("parent_id")
