"""Opening and closing a browser session over HTTP — shared by the API's log-in routes and the log-in pages
(password, and single sign-on once the outside system has vouched for someone)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from sqlalchemy.exc import IntegrityError

from xietong.db.base import utcnow
from xietong.errors import Conflict, DomainError
from xietong.security import auth, sso
from xietong.security.principal import Principal
from xietong.web.deps import SESSION_COOKIE, audit, settings_of, writing


def open_session(
    request: Request, *, username: str, password: str, second_factor: str | None = None
) -> auth.LoginOutcome:
    """Check the password and open a session; the attempt is audited and committed either way, then a
    failure is raised (so failed attempts count towards the lock-out)."""
    settings = settings_of(request)
    with writing(request) as session:
        outcome = auth.attempt_login(
            session, username=username, password=password, now=utcnow(), idle_minutes=settings.session_idle_minutes,
            second_factor=second_factor, break_glass=None if settings.password_login else settings.break_glass,
        )
        action = "auth.login" if outcome.error is None else f"auth.login_refused.{outcome.error.code}"
        who = Principal(kind="person", id=outcome.person_id) if outcome.person_id else None
        audit(session, request, who, action, target_kind="person", target_id=outcome.person_id, username=username)
    outcome.raise_for_failure()
    assert outcome.person_id is not None
    return outcome


def set_session_cookie(response: Response, request: Request, cookie: str) -> None:
    response.set_cookie(
        SESSION_COOKIE, cookie, httponly=True, samesite="lax", secure=request.url.scheme == "https",
        path="/", max_age=auth.SESSION_MAX_HOURS * 3600,
    )


def close_session(request: Request, response: Response, principal: Principal) -> None:
    """End the request's session (log-out), audited, and tell the browser to drop the cookie."""
    cookie = request.cookies.get(SESSION_COOKIE)
    with writing(request) as session:
        if cookie:
            auth.logout(session, cookie=cookie)
        audit(session, request, principal, "auth.logout")
    response.delete_cookie(SESSION_COOKIE, path="/")


@dataclass(frozen=True)
class SsoOutcome:
    person_id: int
    outcome: auth.LoginOutcome | None  # None: the person has TOTP and must give a code first (``sso_second_factor``)


def audit_refusal(request: Request, exc: DomainError, *, method: str, person_id: int | None = None,
                  **details: Any) -> None:
    """A refused single sign-on, audited in its own transaction like a refused password."""
    with writing(request) as session:
        who = Principal(kind="person", id=person_id) if person_id else None
        audit(session, request, who, f"auth.login_refused.{exc.code}", target_kind="person", target_id=person_id,
              method=method, **details)


def open_sso_session(request: Request, identity: sso.OutsideIdentity, *, method: str) -> SsoOutcome:
    """Link the outside identity (or follow its link) and open a session, audited; a refusal is audited and
    committed, then raised. A trusted ``amr`` (OpenID Connect only) counts as the second factor."""
    settings = settings_of(request)
    trusted = frozenset(v.strip() for v in settings.oidc_trusted_amr.split(",") if v.strip()) \
        if method == "oidc" else frozenset()
    now = utcnow()
    facts = {"issuer": identity.issuer, "subject": identity.subject, "employee_code": identity.employee_code}
    try:
        with writing(request) as session:
            resolved = sso.resolve_person(session, identity=identity, now=now)
            who = Principal(kind="person", id=resolved.person_id)
            if resolved.linked:
                audit(session, request, who, "auth.sso_linked", target_kind="person", target_id=resolved.person_id,
                      method=method, **facts)
            if sso.needs_second_factor(session, person_id=resolved.person_id, identity=identity,
                                       trusted_amr=trusted):
                return SsoOutcome(resolved.person_id, None)
            verified_at = now if trusted.intersection(identity.amr) else None
            outcome = auth.start_session(session, person_id=resolved.person_id, now=now,
                                         idle_minutes=settings.session_idle_minutes, second_factor_at=verified_at)
            audit(session, request, who, "auth.login", target_kind="person", target_id=resolved.person_id,
                  method=method, **facts)
    except DomainError as exc:
        audit_refusal(request, exc, method=method, **facts)
        raise
    except IntegrityError as exc:  # the same identity's first log-in in two places at once: the other one linked it
        raced = Conflict(code="sso_link_race", detail="同一账号正在另一处完成首次登录，请重新登录")
        audit_refusal(request, raced, method=method, **facts)
        raise raced from exc
    return SsoOutcome(resolved.person_id, outcome)


def sso_second_factor(request: Request, *, person_id: int, method: str, code: str) -> auth.LoginOutcome:
    """The TOTP step after single sign-on: audited and committed either way, then a failure is raised."""
    with writing(request) as session:
        outcome = sso.finish_with_second_factor(session, person_id=person_id, code=code, now=utcnow(),
                                                idle_minutes=settings_of(request).session_idle_minutes)
        action = "auth.login" if outcome.error is None else f"auth.login_refused.{outcome.error.code}"
        audit(session, request, Principal(kind="person", id=person_id), action, target_kind="person",
              target_id=person_id, method=method, second_factor=True)
    outcome.raise_for_failure()
    return outcome
