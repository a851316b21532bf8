"""Data service: application clients and tokens, idempotency records, rate windows, webhooks (issue 10)

Also lets a case be filed by a client: ``case.applicant_person_id`` becomes nullable.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import xietong.db.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table("feed_cursor",
    sa.Column("name", sa.String(length=40), nullable=False),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint("name", name=op.f("pk_feed_cursor"))
    )
    op.create_table("idempotency_record",
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
    sa.Column("owner", sa.String(length=40), nullable=False),
    sa.Column("key", sa.String(length=200), nullable=False),
    sa.Column("request_digest", sa.String(length=64), nullable=False),
    sa.Column("state", sa.String(length=12), nullable=False),
    sa.Column("status", sa.Integer(), nullable=True),
    sa.Column("headers", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
    sa.Column("body", sa.LargeBinary(), nullable=True),
    sa.Column("created_at", xietong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_record")),
    sa.UniqueConstraint("owner", "key", name=op.f("uq_idempotency_record_owner_key"))
    )
    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idempotency_record_created_at"), ["created_at"], unique=False)

    op.create_table("api_client",
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
    sa.Column("client_id", sa.String(length=40), nullable=False),
    sa.Column("name", sa.String(length=100), nullable=False),
    sa.Column("secret_hash", sa.String(length=64), nullable=False),
    sa.Column("scopes", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
    sa.Column("unit_ids", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
    sa.Column("rate_limit_per_minute", sa.Integer(), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("created_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
    sa.Column("created_at", xietong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column("disabled_at", xietong.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(["created_by_id"], ["person.id"], name=op.f("fk_api_client_created_by_id_person")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_api_client")),
    sa.UniqueConstraint("client_id", name=op.f("uq_api_client_client_id"))
    )
    op.create_table("client_token",
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
    sa.Column("client_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
    sa.Column("token_hash", sa.String(length=64), nullable=False),
    sa.Column("scopes", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
    sa.Column("created_at", xietong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column("expires_at", xietong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["client_pk"], ["api_client.id"], name=op.f("fk_client_token_client_pk_api_client")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_client_token")),
    sa.UniqueConstraint("token_hash", name=op.f("uq_client_token_token_hash"))
    )
    with op.batch_alter_table("client_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_client_token_client_pk"), ["client_pk"], unique=False)

    op.create_table("rate_window",
    sa.Column("client_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
    sa.Column("window_start", sa.Integer(), nullable=False),
    sa.Column("count", sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(["client_pk"], ["api_client.id"], name=op.f("fk_rate_window_client_pk_api_client")),
    sa.PrimaryKeyConstraint("client_pk", "window_start", name=op.f("pk_rate_window"))
    )
    op.create_table("webhook_subscription",
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
    sa.Column("client_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
    sa.Column("url", sa.String(length=500), nullable=False),
    sa.Column("event_types", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
    sa.Column("secret", sa.String(length=100), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("after_position", sa.Integer(), nullable=False),
    sa.Column("created_at", xietong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["client_pk"], ["api_client.id"], name=op.f("fk_webhook_subscription_client_pk_api_client")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscription"))
    )
    with op.batch_alter_table("webhook_subscription", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_subscription_client_pk"), ["client_pk"], unique=False)

    op.create_table("webhook_delivery",
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
    sa.Column("subscription_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
    sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
    sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("event_type", sa.String(length=60), nullable=False),
    sa.Column("state", sa.String(length=12), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("next_attempt_at", xietong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column("committed_at", xietong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column("created_at", xietong.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column("last_attempt_at", xietong.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column("last_status", sa.Integer(), nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("delivered_at", xietong.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_webhook_delivery_case_id_case")),
    sa.ForeignKeyConstraint(["event_id"], ["event.id"], name=op.f("fk_webhook_delivery_event_id_event")),
    sa.ForeignKeyConstraint(["subscription_id"], ["webhook_subscription.id"], name=op.f("fk_webhook_delivery_subscription_id_webhook_subscription")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
    sa.UniqueConstraint("subscription_id", "event_id", name=op.f("uq_webhook_delivery_subscription_id_event_id"))
    )
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_delivery_due", ["next_attempt_at"], unique=False, postgresql_where=sa.text("state = 'pending'"), sqlite_where=sa.text("state = 'pending'"))
        batch_op.create_index("ix_webhook_delivery_history", ["subscription_id", "id"], unique=False)
        batch_op.create_index("ix_webhook_delivery_line", ["subscription_id", "case_id", "position"], unique=False)

    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.alter_column("applicant_person_id",
               existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
               nullable=True)



def downgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.alter_column("applicant_person_id",
               existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
               nullable=False)

    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_delivery_line")
        batch_op.drop_index("ix_webhook_delivery_history")
        batch_op.drop_index("ix_webhook_delivery_due", postgresql_where=sa.text("state = 'pending'"), sqlite_where=sa.text("state = 'pending'"))

    op.drop_table("webhook_delivery")
    with op.batch_alter_table("webhook_subscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_subscription_client_pk"))

    op.drop_table("webhook_subscription")
    op.drop_table("rate_window")
    with op.batch_alter_table("client_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_token_client_pk"))

    op.drop_table("client_token")
    op.drop_table("api_client")
    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_record_created_at"))

    op.drop_table("idempotency_record")
    op.drop_table("feed_cursor")
