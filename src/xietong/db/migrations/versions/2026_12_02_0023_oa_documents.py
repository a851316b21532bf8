"""OA documents received for the OA exchange (issue 10 item 9)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from xietong.db.base import UTCDateTime

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "oa_document",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("oa_doc_id", sa.String(length=64), nullable=False),
        sa.Column("doc_number", sa.String(length=80), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("sender", sa.String(length=200), nullable=False),
        sa.Column("unit_id", BIG_ID, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attachments", JSON, nullable=False),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("case_id", BIG_ID, nullable=True),
        sa.Column("handled_by_id", BIG_ID, nullable=True),
        sa.Column("handled_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_oa_document_case_id_case")),
        sa.ForeignKeyConstraint(["handled_by_id"], ["person.id"], name=op.f("fk_oa_document_handled_by_id_person")),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_oa_document_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oa_document")),
        sa.UniqueConstraint("case_id", name=op.f("uq_oa_document_case_id")),
        sa.UniqueConstraint("oa_doc_id", name=op.f("uq_oa_document_oa_doc_id")),
    )
    with op.batch_alter_table("oa_document", schema=None) as batch_op:
        batch_op.create_index("ix_oa_document_unit", ["unit_id", "state", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("oa_document", schema=None) as batch_op:
        batch_op.drop_index("ix_oa_document_unit")
    op.drop_table("oa_document")
