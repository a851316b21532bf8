"""Tables of security: credentials, role grants with scopes, web sessions and API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
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

    Case operations are recorded in the case's own event chain; this is the log of everything else. The
    tamper-evident SM3 chain over these rows comes with the security issue (it will add the hash columns).
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
