"""Single sign-on (issue 10 item 5): outside identities linked to the person they log in as

Revision ID: 0025
Revises: 0026
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from xietong.db.base import UTCDateTime

revision: str = "0025"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sso_link",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("issuer", sa.String(length=300), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("person_id", BIG_ID, nullable=False),
        sa.Column("linked_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_sso_link_person_id_person")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_link")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_sso_link_issuer_subject")),
        sa.UniqueConstraint("person_id", "issuer", name=op.f("uq_sso_link_person_id_issuer")),
    )


def downgrade() -> None:
    op.drop_table("sso_link")
