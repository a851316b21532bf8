"""Opening and closing a browser session over HTTP — shared by the API's log-in routes and the log-in page."""

from __future__ import annotations

from fastapi import Request, Response

from xietong.db.base import utcnow
from xietong.security import auth
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
