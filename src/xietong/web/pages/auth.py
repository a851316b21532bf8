"""The landing page, log-in (with the demo log-ins in demo mode only) and log-out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select

from xietong.cases.models import Case
from xietong.catalog.models import LocalMatter
from xietong.demo.city import DEMO_LOGINS
from xietong.demo.seed import DEMO_PASSWORD
from xietong.directory.models import Person, Unit
from xietong.errors import DomainError
from xietong.web.deps import reading, settings_of
from xietong.web.pages.access import MaybePrincipal, PagePrincipal
from xietong.web.pages.rendering import render
from xietong.web.sessions import close_session, open_session, set_session_cookie

router = APIRouter()
COUNTED = (("单位", Unit), ("人员", Person), ("事项", LocalMatter), ("办件", Case))


def safe_next(target: str | None) -> str:
    """Only a path on this site: never ``//elsewhere`` or ``https://elsewhere`` (no open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/workbench"


@router.get("/", include_in_schema=False)
def landing(request: Request, _principal: MaybePrincipal) -> Response:
    with reading(request) as session:
        counts = [(label, session.scalar(select(func.count()).select_from(model)) or 0) for label, model in COUNTED]
    return render(request, "landing.html", {"counts": counts})


def _demo_logins(request: Request) -> list[tuple[str, str]]:
    if not settings_of(request).demo:
        return []
    with reading(request) as session:
        present = set(session.scalars(select(Person.username).where(Person.username.in_(DEMO_LOGINS))))
    return [(username, DEMO_LOGINS[username][2]) for username in DEMO_LOGINS if username in present]


def _login_page(request: Request, *, next_: str, username: str = "", error: str = "", status: int = 200,
                need_code: bool = False) -> Response:
    settings = settings_of(request)
    context = {
        "next": safe_next(next_), "username": username, "error": error, "demo_logins": _demo_logins(request),
        "need_code": need_code,
        "demo_password": DEMO_PASSWORD, "expired": request.query_params.get("expired") == "1",
        # single sign-on (pages/sso.py); with passwords off only the break-glass form at ?local=1 or after a post
        "sso": settings.oidc_configured,
        "password_form": settings.password_login or request.method == "POST"
        or request.query_params.get("local") == "1",
        "password_off": not settings.password_login,
    }
    return render(request, "auth/login.html", context, status_code=status)


@router.get("/login", include_in_schema=False)
def login_page(request: Request, principal: MaybePrincipal, next: str = "") -> Response:
    if principal is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next_=next)


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
    totp_code: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    if not username.strip() or not password:
        return _login_page(request, next_=next, username=username, error="请输入用户名和密码", status=422,
                           need_code=bool(totp_code))
    try:
        outcome = open_session(request, username=username, password=password, second_factor=totp_code or None)
    except DomainError as exc:
        status = 403 if exc.kind == "forbidden" else 401
        need_code = bool(totp_code) or exc.code.startswith("totp")  # the account has a second factor: ask for it
        return _login_page(request, next_=next, username=username, error=exc.detail, status=status,
                           need_code=need_code)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(response, request, outcome.cookie)
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request, principal: PagePrincipal) -> Response:
    response = RedirectResponse("/login", status_code=303)
    close_session(request, response, principal)
    return response
