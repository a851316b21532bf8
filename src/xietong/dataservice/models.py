"""Tables of the data service: clients and their tokens, idempotency records, rate windows, webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from xietong.db.base import Base, BigId, utcnow


class ApiClient(Base):
    """An application client (another system): OAuth2 client credentials, scopes, the units it acts for."""

    __tablename__ = "api_client"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the client secret
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    unit_ids: Mapped[list[Any]] = mapped_column(default=list)
    rate_limit_per_minute: Mapped[int] = mapped_column(default=600)
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]


class ClientToken(Base):
    """An access token issued to a client by the token endpoint; only its SHA-256 is stored."""

    __tablename__ = "client_token"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("api_client.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class IdempotencyRecord(Base):
    """A POST made with an ``Idempotency-Key``: the request's digest and, once answered, the response."""

    __tablename__ = "idempotency_record"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    owner: Mapped[str] = mapped_column(String(40))  # "client:12" or "person:7"
    key: Mapped[str] = mapped_column(String(200))
    request_digest: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending | done
    status: Mapped[int | None]
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    __table_args__ = (UniqueConstraint("owner", "key"),)


class RateWindow(Base):
    """How many requests a client made in one fixed window (a minute); works across app processes."""

    __tablename__ = "rate_window"

    client_pk: Mapped[int] = mapped_column(ForeignKey("api_client.id"), primary_key=True)
    window_start: Mapped[int] = mapped_column(primary_key=True)  # epoch seconds of the window
    count: Mapped[int] = mapped_column(default=0)


class WebhookSubscription(Base):
    """Where a client wants events sent, which event types, and the HMAC secret the deliveries are signed with.

    The secret is kept as is (signing needs the key itself, a digest would not do); the API shows it once.
    """

    __tablename__ = "webhook_subscription"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("api_client.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    event_types: Mapped[list[Any]] = mapped_column(default=list)  # exact types or "prefix.*"; ["*"] = all
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
    after_position: Mapped[int] = mapped_column(default=0)  # events at or before this were before its time
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


PENDING = text("state = 'pending'")


class WebhookDelivery(Base):
    """One event to send to one subscription: pending → delivered, or dead after the last retry (then skipped).

    A pending or dead delivery holds the later deliveries of the same (subscription, case).
    """

    __tablename__ = "webhook_delivery"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscription.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    position: Mapped[int]
    event_type: Mapped[str] = mapped_column(String(60))
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending | delivered | dead | skipped
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    committed_at: Mapped[datetime]  # the event's time: the start of the commit-to-delivery lag
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None]
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        Index("ix_webhook_delivery_line", "subscription_id", "case_id", "position"),
        Index("ix_webhook_delivery_due", "next_attempt_at", postgresql_where=PENDING, sqlite_where=PENDING),
        Index("ix_webhook_delivery_history", "subscription_id", "id"),
    )


class FeedCursor(Base):
    """How far a reader of the change log has got: one row per reader (webhook fan-out, documents)."""

    __tablename__ = "feed_cursor"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
