"""Application drafts (issue 5): the wizard's fields and uploads kept per person and matter until submitted

Revision ID: 0015
Revises: 0021
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from xietong.db.base import UTCDateTime

revision: str = "0015"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "application_draft",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("person_id", BIG_ID, nullable=False),
        sa.Column("local_matter_id", BIG_ID, nullable=False),
        sa.Column("matter_version_id", BIG_ID, nullable=False),
        sa.Column("applicant_unit_id", BIG_ID, nullable=True),
        sa.Column("values", JSON, nullable=False),
        sa.Column("materials", JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_application_draft_person_id_person")),
        sa.ForeignKeyConstraint(["local_matter_id"], ["local_matter.id"],
                                name=op.f("fk_application_draft_local_matter_id_local_matter")),
        sa.ForeignKeyConstraint(["matter_version_id"], ["matter_version.id"],
                                name=op.f("fk_application_draft_matter_version_id_matter_version")),
        sa.ForeignKeyConstraint(["applicant_unit_id"], ["unit.id"],
                                name=op.f("fk_application_draft_applicant_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_draft")),
        sa.UniqueConstraint("person_id", "local_matter_id", name=op.f("uq_application_draft_person_id_local_matter_id")),
    )


def downgrade() -> None:
    op.drop_table("application_draft")
