"""Base matter templates and change offers (issue 9): a base change is offered to every implementation

A base matter carries its form, materials and process templates; each change to them (or to the legal
limit) is a numbered ``base_change`` with one ``base_change_offer`` per published implementation, which an
administrator accepts (a new version is published) or declines with a reason.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from xietong.db.base import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TEMPLATES = ("form_template", "materials_template", "process_template")


def upgrade() -> None:
    op.create_table(
        "base_change",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("base_matter_id", BIG_ID, sa.ForeignKey("base_matter.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("changes", JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", BIG_ID, sa.ForeignKey("person.id"), nullable=True),
        sa.UniqueConstraint("base_matter_id", "number"),
    )
    op.create_table(
        "base_change_offer",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("base_change_id", BIG_ID, sa.ForeignKey("base_change.id"), nullable=False),
        sa.Column("local_matter_id", BIG_ID, sa.ForeignKey("local_matter.id"), nullable=False, index=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", BIG_ID, sa.ForeignKey("person.id"), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.UniqueConstraint("base_change_id", "local_matter_id"),
    )
    with op.batch_alter_table("base_matter", schema=None) as batch_op:
        for name in TEMPLATES:
            batch_op.add_column(sa.Column(name, JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("base_matter", schema=None) as batch_op:
        for name in reversed(TEMPLATES):
            batch_op.drop_column(name)
    op.drop_table("base_change_offer")
    op.drop_table("base_change")
