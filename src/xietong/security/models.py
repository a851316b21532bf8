"""Tables of security: credentials, second factors, role grants, web sessions, API tokens, the audit chains."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from xietong.db.base import Base, BigId, utcnow


class Credential(Base):
    """A person's local password (argon2) and log-in state."""

    __tablename__ = "credential"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    must_change: Mapped[bool] = mapped_column(default=True)
    failed_count: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class RoleGrant(Base):
    """A role granted to a person with a scope: a unit subtree, a region, or everything."""

    __tablename__ = "role_grant"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    role: Mapped[str] = mapped_column(String(30))
    scope_kind: Mapped[str] = mapped_column(String(20))  # unit_subtree | region | all
    scope_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    scope_region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebSession(Base):
    """A browser session; ``id`` is the SHA-256 of the cookie value, never the value itself."""

    __tablename__ = "web_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    # Set when the log-in of this session gave a valid second factor (TOTP or a recovery code).
    second_factor_at: Mapped[datetime | None]
    # The password was an initial one at log-in: until it is changed the session may only change it.
    must_change: Mapped[bool] = mapped_column(default=False, server_default=false())


class ApiToken(Base):
    """A personal API token (Bearer); only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AuditRecord(Base):
    """An administrative action or a security event (log-in, grant, directory or matter change) and who did it.

    Case operations are recorded in the case's own event chain; this is the log of everything else. Each
    record is chained: ``hash`` = SM3(``prev_hash`` ‖ canonical JSON of the record with its ``seq``), written
    at insert under the lock of the chain's head row (``security/audit_chain.py``).
    """

    __tablename__ = "audit_record"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_kind: Mapped[str] = mapped_column(String(12))  # person | client | system | anonymous
    actor_id: Mapped[int | None] = mapped_column(BigId, index=True)
    action: Mapped[str] = mapped_column(String(60))
    target_kind: Mapped[str | None] = mapped_column(String(30))
    target_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    client_ip: Mapped[str | None] = mapped_column(String(45))
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditChain(Base):
    """The head of a tamper-evident chain: ``audit`` (administrative actions) or ``event`` (all case events).

    ``seq``/``hash`` is the last chained record; ``base_seq``/``base_hash`` where the retained chain starts
    (records before it were pruned after the retention period; the hash anchors the first kept record).
    """

    __tablename__ = "audit_chain"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))
    base_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    base_hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A signed checkpoint of a chain: HMAC-SHA256 under a key derived from the instance secret."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    chain: Mapped[str] = mapped_column(String(20))
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    mac: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_checkpoint_chain_seq", "chain", "seq"),)


class SecondFactor(Base):
    """A person's TOTP secret (RFC 6238); usable once ``confirmed_at`` is set by a first valid code."""

    __tablename__ = "second_factor"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    last_step: Mapped[int | None] = mapped_column(BigInteger)  # a code's time step is accepted once only


class RecoveryCode(Base):
    """A one-time recovery code of a second factor; only its SHA-256 is kept."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]


class SsoLink(Base):
    """An outside identity (an OpenID provider's ``iss`` + ``sub``, or the messaging platform's user id) linked to
    the person it logs in as — written at the first single sign-on, matched by employee code, never re-pointed."""

    __tablename__ = "sso_link"
    __table_args__ = (UniqueConstraint("issuer", "subject"), UniqueConstraint("person_id", "issuer"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(255))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
