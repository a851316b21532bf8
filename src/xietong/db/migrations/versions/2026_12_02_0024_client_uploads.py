"""Application clients upload materials (issue 10 item 1): an attachment names a person or a client

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.alter_column("uploaded_by_id", existing_type=BIG_ID, nullable=True)
        batch_op.add_column(sa.Column("uploaded_by_client_id", BIG_ID, nullable=True))
        batch_op.create_foreign_key(op.f("fk_attachment_uploaded_by_client_id_api_client"), "api_client",
                                    ["uploaded_by_client_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_attachment_uploaded_by_client_id_api_client"), type_="foreignkey")
        batch_op.drop_column("uploaded_by_client_id")
        batch_op.alter_column("uploaded_by_id", existing_type=BIG_ID, nullable=False)
