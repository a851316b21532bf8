"""Application clients: registration by an administrator, client-credentials tokens, the client as a principal.

Access tokens are opaque random strings of which only the SHA-256 is stored (like personal tokens): we are the
only resource server, so a self-contained JWT would buy nothing but key management, and an opaque token is
revoked the moment its client is disabled.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from xietong.dataservice.models import ApiClient, ClientToken
from xietong.dataservice.scopes import SCOPES
from xietong.directory.models import Unit
from xietong.errors import FieldProblem, Forbidden, InvalidInput, NotFound, Unauthenticated
from xietong.security.auth import digest
from xietong.security.permissions import may_administer
from xietong.security.principal import Principal

TOKEN_PREFIX = "xtc_"
SECRET_PREFIX = "xcs_"
TOKEN_LIFETIME = timedelta(hours=1)


@dataclass(frozen=True)
class RegisteredClient:
    client: ApiClient
    secret: str  # shown once, never stored


@dataclass(frozen=True)
class IssuedAccessToken:
    token: str
    expires_in: int
    scopes: tuple[str, ...]


def _check_scopes(scopes: Sequence[str]) -> list[str]:
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise InvalidInput(
            code="bad_scopes", detail="授权范围无效：须从 " + "、".join(SCOPES) + " 中选择",
            errors=[FieldProblem("scopes", f"未知的授权范围 {s}", "unknown_scope") for s in unknown],
        )
    return sorted(set(scopes))


def _check_units(session: Session, principal: Principal, unit_ids: Sequence[int]) -> list[int]:
    """Every unit exists and lies within the administrator's scope."""
    if not unit_ids:
        raise InvalidInput(code="no_units", detail="应用至少须限定一个单位")
    rows = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(unit_ids)))}
    missing = [u for u in unit_ids if u not in rows]
    if missing:
        raise InvalidInput(
            code="unknown_units", detail="有单位不存在",
            errors=[FieldProblem("unit_ids", f"单位 {u} 不存在", "unknown_unit") for u in missing],
        )
    for unit in rows.values():
        if not may_administer(principal, "dataservice", region_id=unit.region_id, unit_path=unit.path):
            raise Forbidden(code="unit_out_of_scope", detail=f"无权为“{unit.name}”注册应用")
    return sorted(set(unit_ids))


def register_client(
    session: Session, *, principal: Principal, name: str, scopes: Sequence[str], unit_ids: Sequence[int],
    rate_limit_per_minute: int = 600, now: datetime,
) -> RegisteredClient:
    """Register another system: a client id and a secret (shown once), limited to ``scopes`` and ``unit_ids``."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput(code="bad_client_name", detail="应用名称须为 1–100 个字符")
    if not 1 <= rate_limit_per_minute <= 100_000:
        raise InvalidInput(code="bad_rate_limit", detail="每分钟请求上限须在 1 到 100000 之间")
    checked_scopes = _check_scopes(scopes)
    checked_units = _check_units(session, principal, unit_ids)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    client = ApiClient(
        client_id="xt-" + secrets.token_hex(8), name=name, secret_hash=digest(secret), scopes=checked_scopes,
        unit_ids=checked_units, rate_limit_per_minute=rate_limit_per_minute, active=True,
        created_by_id=principal.id if principal.kind == "person" else None, created_at=now,
    )
    session.add(client)
    session.flush()
    return RegisteredClient(client, secret)


def administered_client(session: Session, *, principal: Principal, client_pk: int) -> ApiClient:
    """A client the administrator may manage (every one of its units within their scope), else 404."""
    client = session.get(ApiClient, client_pk)
    if client is None or not _administers(session, principal, client):
        raise NotFound(code="client_not_found", detail="没有这个应用")
    return client


def _administers(session: Session, principal: Principal, client: ApiClient) -> bool:
    units = session.scalars(select(Unit).where(Unit.id.in_(client.unit_ids))).all()
    return bool(units) and all(
        may_administer(principal, "dataservice", region_id=u.region_id, unit_path=u.path) for u in units
    )


def clients_of(session: Session, *, principal: Principal) -> list[ApiClient]:
    """The clients this administrator may manage, oldest first."""
    require_dataservice_admin(principal)
    clients = session.scalars(select(ApiClient).order_by(ApiClient.id)).all()
    return [c for c in clients if _administers(session, principal, c)]


_ADMIN_ROLES = ("system_admin",)


def require_dataservice_admin(principal: Principal) -> None:
    """Lists of the data service's administration are for system administrators only (403 for anyone else)."""
    if not principal.has_role(*_ADMIN_ROLES) and principal.kind != "system":
        raise Forbidden(code="not_dataservice_admin", detail="只有系统管理员可以管理应用")


def disable_client(session: Session, *, principal: Principal, client_pk: int, now: datetime) -> ApiClient:
    """Stop a client: its tokens are deleted at once and no new ones are issued."""
    client = administered_client(session, principal=principal, client_pk=client_pk)
    client.active = False
    client.disabled_at = client.disabled_at or now
    session.execute(delete(ClientToken).where(ClientToken.client_pk == client.id))
    session.flush()
    return client


def issue_access_token(
    session: Session, *, client_id: str, client_secret: str, scope: str | None, now: datetime
) -> IssuedAccessToken:
    """OAuth2 client credentials: check the secret, narrow the scopes if asked, issue an opaque token."""
    client = session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    expected = client.secret_hash if client is not None else digest("no such client")
    if not hmac.compare_digest(expected, digest(client_secret)) or client is None or not client.active:
        raise Unauthenticated(
            code="invalid_client", detail="应用标识或密钥错误，或应用已停用", extra={"error": "invalid_client"}
        )
    granted = list(client.scopes)
    wanted = scope.split() if scope else granted
    if any(s not in granted for s in wanted):
        raise InvalidInput(
            code="invalid_scope", detail="请求的授权范围超出了该应用的授权", extra={"error": "invalid_scope"}
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.execute(delete(ClientToken).where(ClientToken.client_pk == client.id, ClientToken.expires_at <= now))
    session.add(
        ClientToken(
            client_pk=client.id, token_hash=digest(raw), scopes=sorted(set(wanted)), created_at=now,
            expires_at=now + TOKEN_LIFETIME,
        )
    )
    session.flush()
    return IssuedAccessToken(raw, int(TOKEN_LIFETIME.total_seconds()), tuple(sorted(set(wanted))))


def is_client_token(raw: str) -> bool:
    return raw.startswith(TOKEN_PREFIX)


def token_client(session: Session, *, raw: str, now: datetime) -> Principal:
    """The client behind a live access token, as a principal limited to the token's scopes and its units."""
    row = session.execute(
        select(ApiClient, ClientToken.scopes)
        .join(ClientToken, ClientToken.client_pk == ApiClient.id)
        .where(ClientToken.token_hash == digest(raw), ClientToken.expires_at > now)
    ).first()
    if row is None or not row[0].active:
        raise Unauthenticated(code="bad_token", detail="访问令牌无效、已过期或应用已停用")
    client, scopes = row
    paths = session.scalars(select(Unit.path).where(Unit.id.in_(client.unit_ids))).all()
    return Principal(
        kind="client", id=client.id, name=client.name, unit_ids=frozenset(client.unit_ids),
        unit_paths=tuple(sorted(paths)), scopes=frozenset(scopes) & frozenset(client.scopes),
    )


def rate_limit_of(session: Session, client_pk: int) -> int:
    limit = session.scalar(select(ApiClient.rate_limit_per_minute).where(ApiClient.id == client_pk))
    if limit is None:
        raise NotFound(code="client_not_found", detail="没有这个应用")
    return limit
