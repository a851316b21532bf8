"""Handling operations (issue 4): supplement requests, and the status a paused case returns to

``supplement_request`` holds each 补正 and 退回申请人 with its list of wanted changes and, once the applicant
resubmits, what changed; ``case.paused_from`` is the status a supplement, suspension or special procedure
returns the case to; ``case.working_days_used`` and ``task.working_days`` record the working days used, for
statistics.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from xietong.db.base import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "supplement_request",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("case_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("items", JSON, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("resume_mode", sa.String(length=12), nullable=True),
        sa.Column("resume_node", sa.String(length=64), nullable=True),
        sa.Column("resume_task_id", BIG_ID, nullable=True),
        sa.Column("requested_by_id", BIG_ID, nullable=True),
        sa.Column("requested_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("resubmitted_by_id", BIG_ID, nullable=True),
        sa.Column("resubmitted_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("changes", JSON, nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_supplement_request_case_id_case")),
        sa.ForeignKeyConstraint(["resume_task_id"], ["task.id"], name=op.f("fk_supplement_request_resume_task_id_task")),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["person.id"], name=op.f("fk_supplement_request_requested_by_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["resubmitted_by_id"], ["person.id"], name=op.f("fk_supplement_request_resubmitted_by_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplement_request")),
    )
    with op.batch_alter_table("supplement_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supplement_request_case_id"), ["case_id"], unique=False)
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paused_from", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("working_days_used", sa.Integer(), nullable=True))
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("working_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_column("working_days")
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_column("working_days_used")
        batch_op.drop_column("paused_from")
    with op.batch_alter_table("supplement_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supplement_request_case_id"))
    op.drop_table("supplement_request")
