"""Directory integrity indexes: one plain membership per (person, unit); unit-path prefix search on PostgreSQL

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NO_POST = sa.text("post_id IS NULL")


def upgrade() -> None:
    op.create_index(
        "ux_membership_unit_no_post", "membership", ["person_id", "unit_id"], unique=True,
        postgresql_where=NO_POST, sqlite_where=NO_POST,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_unit_path_prefix", "unit", ["path"], postgresql_ops={"path": "varchar_pattern_ops"})


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_unit_path_prefix", table_name="unit")
    op.drop_index("ux_membership_unit_no_post", table_name="membership")
