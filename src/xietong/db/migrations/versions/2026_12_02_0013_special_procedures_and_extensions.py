"""Special procedures, extensions and 委派 (issue 12): more time the law allows, and a task lent to a colleague

``special_procedure`` holds each 特别程序 (听证, 专家评审, 检验检测, 现场勘验…) with its kind, reason and legal
basis, while it runs and after; the case's clock stops while one runs (行政许可法 §45). ``case.extended_days``
records the one 延期 a case may have (§42), so statistics can report extended cases apart.
``task.delegate_id`` / ``delegated_at``: the colleague a handler handed the task to (委派) until it comes back.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from xietong.db.base import UTCDateTime

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "special_procedure",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("case_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("planned_days", sa.Integer(), nullable=True),
        sa.Column("started_by_id", BIG_ID, nullable=True),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_by_id", BIG_ID, nullable=True),
        sa.Column("ended_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("working_days", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_special_procedure_case_id_case")),
        sa.ForeignKeyConstraint(
            ["started_by_id"], ["person.id"], name=op.f("fk_special_procedure_started_by_id_person")
        ),
        sa.ForeignKeyConstraint(["ended_by_id"], ["person.id"], name=op.f("fk_special_procedure_ended_by_id_person")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_special_procedure")),
    )
    with op.batch_alter_table("special_procedure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_special_procedure_case_id"), ["case_id"], unique=False)
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("extended_days", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delegate_id", BIG_ID, nullable=True))
        batch_op.add_column(sa.Column("delegated_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_task_delegate_id_person"), "person", ["delegate_id"], ["id"])
        batch_op.create_index("ix_task_open_delegate", ["delegate_id"], unique=False,
                              postgresql_where=sa.text("state = 'open'"), sqlite_where=sa.text("state = 'open'"))


def downgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_open_delegate")
        batch_op.drop_constraint(batch_op.f("fk_task_delegate_id_person"), type_="foreignkey")
        batch_op.drop_column("delegated_at")
        batch_op.drop_column("delegate_id")
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_column("extended_days")
    with op.batch_alter_table("special_procedure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_special_procedure_case_id"))
    op.drop_table("special_procedure")
