"""Units' e-seals, sealed result documents and archive packages (issue 10 items 6 and 7)

Revision ID: 0019
Revises: 0015
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from xietong.db.base import UTCDateTime

revision: str = "0019"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "unit_seal",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("unit_id", BIG_ID, nullable=False),
        sa.Column("es_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("public_key", sa.String(length=130), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=False),
        sa.Column("image", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_unit_seal_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_seal")),
        sa.UniqueConstraint("unit_id", name=op.f("uq_unit_seal_unit_id")),
        sa.UniqueConstraint("es_id", name=op.f("uq_unit_seal_es_id")),
    )
    op.create_table(
        "sealed_result",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("case_id", BIG_ID, nullable=False),
        sa.Column("document_id", BIG_ID, nullable=False),
        sa.Column("unit_id", BIG_ID, nullable=False),
        sa.Column("provider", sa.String(length=12), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("data_hash", sa.String(length=64), nullable=False),
        sa.Column("requested_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("sealed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("file", sa.LargeBinary(), nullable=True),
        sa.Column("signature", JSON, nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_sealed_result_case_id_case")),
        sa.ForeignKeyConstraint(["document_id"], ["document.id"], name=op.f("fk_sealed_result_document_id_document")),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_sealed_result_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sealed_result")),
        sa.UniqueConstraint("document_id", name=op.f("uq_sealed_result_document_id")),
    )
    with op.batch_alter_table("sealed_result", schema=None) as batch_op:
        batch_op.create_index("ix_sealed_result_case", ["case_id"], unique=False)
    op.create_table(
        "archive_package",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("case_id", BIG_ID, nullable=False),
        sa.Column("archival_code", sa.String(length=80), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("package", sa.LargeBinary(), nullable=False),
        sa.Column("sm3", sa.String(length=64), nullable=False),
        sa.Column("report", JSON, nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("built_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("transferred_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("receipt", JSON, nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_archive_package_case_id_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_package")),
        sa.UniqueConstraint("case_id", name=op.f("uq_archive_package_case_id")),
        sa.UniqueConstraint("archival_code", name=op.f("uq_archive_package_archival_code")),
    )


def downgrade() -> None:
    op.drop_table("archive_package")
    with op.batch_alter_table("sealed_result", schema=None) as batch_op:
        batch_op.drop_index("ix_sealed_result_case")
    op.drop_table("sealed_result")
    op.drop_table("unit_seal")
