"""Request plumbing every route shares: who is asking (session cookie + CSRF, or a Bearer token) and
the transaction a route runs in. Routes stay thin: authenticate, open one transaction, call a service.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from xietong.config import Settings
from xietong.dataservice.clients import is_client_token, token_client
from xietong.dataservice.ratelimit import count_request
from xietong.dataservice.scopes import required_scope
from xietong.db.base import utcnow
from xietong.db.session import lookups, read_only, unit_of_work
from xietong.errors import Forbidden, Unauthenticated
from xietong.security.audit import record
from xietong.security.auth import find_session, token_person, touch_session
from xietong.security.principal import Principal, load_principal
from xietong.security.totp import session_restriction
from xietong.system.secret import instance_secret

SESSION_COOKIE = "xietong_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def settings_of(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def secret_of(request: Request) -> str:
    """The instance secret (read at start-up; read once here when the app was started without its lifespan)."""
    secret = getattr(request.app.state, "secret_key", None)
    if secret is None:
        with unit_of_work(request.app.state.engine) as session:
            secret = request.app.state.secret_key = instance_secret(session, settings_of(request).secret_key)
    return secret  # type: ignore[no-any-return]


@contextmanager
def writing(request: Request) -> Iterator[Session]:
    """The one write transaction of a request: commits when the block ends, rolls back on any error."""
    with unit_of_work(request.app.state.engine) as session:
        yield session


@contextmanager
def reading(request: Request) -> Iterator[Session]:
    with read_only(request.app.state.engine) as session:
        yield session


def current_principal(request: Request) -> Principal:
    """The person (or application client) behind a request. A cookie session must also send its CSRF token on
    unsafe methods, and may do nothing else while it must change its initial password or (an administrator's)
    lacks a second factor (outside demo mode)."""
    return authenticate(request, csrf_sent=request.headers.get(CSRF_HEADER, ""))


def authenticate(request: Request, *, csrf_sent: str) -> Principal:
    """``current_principal`` with the CSRF token taken from wherever the caller found it (header or a page's
    form field); a cookie session's own token is left in ``request.state.csrf_token`` for pages."""
    principal = _authenticate(request, csrf_sent)
    restriction = getattr(request.state, "restriction", None)
    if restriction is not None:
        raise restriction
    return principal


def pending_principal(request: Request) -> Principal:
    """As ``current_principal``, but also for a session that must first change its password or enrol a
    second factor: for the routes that let it do that (who am I, log out, password, TOTP)."""
    return _authenticate(request, request.headers.get(CSRF_HEADER, ""))


def _authenticate(request: Request, csrf_sent: str) -> Principal:
    engine, settings, now = request.app.state.engine, settings_of(request), utcnow()
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, raw = authorization.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise Unauthenticated(code="bad_authorization", detail="Authorization 请求头应为“Bearer <令牌>”")
        if is_client_token(raw.strip()):
            return _client_principal(request, raw.strip(), now)
        with lookups(engine) as session:
            person_id, _token_id = token_person(session, raw=raw.strip(), now=now)
            principal = load_principal(session, person_id)
        request.state.principal = principal
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise Unauthenticated(code="not_logged_in", detail="请先登录")
    with lookups(engine) as session:
        info = find_session(session, cookie=cookie, now=now)
        principal = load_principal(session, info.person_id)
    if request.method not in SAFE_METHODS and not hmac.compare_digest(csrf_sent.encode(), info.csrf_token.encode()):
        raise Forbidden(code="csrf_failed", detail="请求缺少有效的 CSRF 令牌，请刷新页面后重试")
    if info.needs_touch:
        with unit_of_work(engine) as session:
            touch_session(session, session_id=info.id, now=now, idle_minutes=settings.session_idle_minutes)
    if not settings.demo:
        request.state.restriction = session_restriction(
            principal, must_change=info.must_change, second_factor_at=info.second_factor_at
        )
    request.state.principal = principal
    request.state.csrf_token = info.csrf_token
    return principal


def _client_principal(request: Request, raw: str, now: datetime) -> Principal:
    """An application client: its token, then the route's scope, then its rate limit (counted in the database)."""
    with read_only(request.app.state.engine) as session:
        principal = token_client(session, raw=raw, now=now)
    scope = required_scope(request.method, request.url.path)
    if scope is None or scope not in principal.scopes:
        raise Forbidden(code="scope_missing", detail="该应用的授权范围不包括此操作")
    with unit_of_work(request.app.state.engine) as session:
        count_request(session, client_pk=principal.id or 0, now=now)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
PendingPrincipal = Annotated[Principal, Depends(pending_principal)]


def auditor(
    request: Request, principal: Principal | None, target_kind: str
) -> Callable[[Session, str, str, dict[str, Any]], None]:
    """``audit`` for a service that records its own steps, each in the transaction it runs: called with
    (session, action, target id, detail)."""

    def record_step(session: Session, action: str, target_id: str, detail: dict[str, Any]) -> None:
        audit(session, request, principal, action, target_kind=target_kind, target_id=target_id, **detail)

    return record_step


def audit(session: Session, request: Request, principal: Principal | None, action: str, **details: Any) -> None:
    """Record an administrative action in the request's transaction (see ``security/audit.py``)."""
    target_kind, target_id = details.pop("target_kind", None), details.pop("target_id", None)
    record(
        session, principal, action, target_kind=target_kind, target_id=target_id, detail=details,
        client_ip=request.client.host if request.client else None,
    )
