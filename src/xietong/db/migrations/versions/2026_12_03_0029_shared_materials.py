"""Shared materials (减材料, issue 9 item 9): units' standing documents with versions; attachments say what they link

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import xietong.db.base

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "shared_material",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("unit_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("current_number", sa.Integer(), nullable=False),
        sa.Column("created_at", xietong.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", xietong.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_shared_material_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shared_material")),
        sa.UniqueConstraint("unit_id", "kind", name=op.f("uq_shared_material_unit_id_kind")),
    )
    op.create_table(
        "shared_material_version",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("shared_material_id", BIG_ID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("blob_sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("uploaded_by_id", BIG_ID, nullable=True),
        sa.Column("uploaded_by_client_id", BIG_ID, nullable=True),
        sa.Column("uploaded_at", xietong.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["blob_sha256"], ["blob.sha256"],
                                name=op.f("fk_shared_material_version_blob_sha256_blob")),
        sa.ForeignKeyConstraint(["shared_material_id"], ["shared_material.id"],
                                name=op.f("fk_shared_material_version_shared_material_id_shared_material")),
        sa.ForeignKeyConstraint(["uploaded_by_client_id"], ["api_client.id"],
                                name=op.f("fk_shared_material_version_uploaded_by_client_id_api_client")),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["person.id"],
                                name=op.f("fk_shared_material_version_uploaded_by_id_person")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shared_material_version")),
        sa.UniqueConstraint("shared_material_id", "number", name=op.f("uq_shared_material_version_shared_material_id_number")),
    )
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shared_version_id", BIG_ID, nullable=True))
        batch_op.add_column(sa.Column("source_document_id", BIG_ID, nullable=True))
        batch_op.create_index(batch_op.f("ix_attachment_shared_version_id"), ["shared_version_id"], unique=False)
        batch_op.create_foreign_key(op.f("fk_attachment_shared_version_id_shared_material_version"),
                                    "shared_material_version", ["shared_version_id"], ["id"])
        batch_op.create_foreign_key(op.f("fk_attachment_source_document_id_document"), "document",
                                    ["source_document_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_attachment_source_document_id_document"), type_="foreignkey")
        batch_op.drop_constraint(op.f("fk_attachment_shared_version_id_shared_material_version"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_attachment_shared_version_id"))
        batch_op.drop_column("source_document_id")
        batch_op.drop_column("shared_version_id")
    op.drop_table("shared_material_version")
    op.drop_table("shared_material")
