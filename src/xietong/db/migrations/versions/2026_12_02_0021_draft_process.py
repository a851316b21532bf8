"""The process designer (issue 9): a draft version's process as last saved while it does not compile

Revision ID: 0021
Revises: 0016
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from xietong.db.base import UTCDateTime

revision: str = "0021"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "draft_process",
        sa.Column("version_id", BIG_ID, nullable=False),
        sa.Column("bpmn", sa.Text(), nullable=False),
        sa.Column("problems", JSON, nullable=False),
        sa.Column("saved_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("saved_by_id", BIG_ID, nullable=True),
        sa.ForeignKeyConstraint(["version_id"], ["matter_version.id"],
                                name=op.f("fk_draft_process_version_id_matter_version")),
        sa.ForeignKeyConstraint(["saved_by_id"], ["person.id"], name=op.f("fk_draft_process_saved_by_id_person")),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_draft_process")),
    )


def downgrade() -> None:
    op.drop_table("draft_process")
