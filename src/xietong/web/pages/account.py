"""个人设置: one's own password (where a forced change of the initial password leads) and the second factor —
TOTP enrolment with the QR code drawn server-side as SVG, the one-time recovery codes, turning it off where allowed.

A session that must change its password or enrol a second factor reaches these pages (and log-out) only;
the other pages send it here (``pages/errors.py``)."""

from __future__ import annotations

from typing import Annotated, Any

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from xietong.db.base import utcnow
from xietong.directory.service import person_out
from xietong.errors import DomainError
from xietong.security import auth, totp
from xietong.security.passwords import configured_rule
from xietong.security.principal import Principal
from xietong.web.deps import SESSION_COOKIE, audit, reading, writing
from xietong.web.pages.access import PagePrincipal, PendingPagePrincipal, person_id
from xietong.web.pages.rendering import render

router = APIRouter()
NOTICES = {"password": "密码已修改。", "totp_removed": "已解除动态验证码绑定。"}


def qr_svg(uri: str) -> Markup:
    """The otpauth URI as an inline SVG QR code (segno writes plain ``<svg><path>``: nothing the CSP forbids)."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=2, title="动态验证码绑定二维码")
    return Markup(svg)  # segno's own markup; the only text in it is our fixed title


def _restriction(request: Request) -> str:
    restriction = getattr(request.state, "restriction", None)
    return restriction.code if isinstance(restriction, DomainError) else ""


def _page(request: Request, principal: Principal, *, status: int = 200, **extra: Any) -> Response:
    pid = person_id(principal)
    with reading(request) as session:
        enrolled = totp.has_second_factor(session, pid)
        left = totp.recovery_codes_left(session, pid) if enrolled else 0
    rule = configured_rule()
    context = {
        "restriction": _restriction(request), "enrolled": enrolled, "codes_left": left,
        "may_remove": enrolled and not totp.requires_second_factor(principal),
        "admin_needs_factor": totp.requires_second_factor(principal),
        "rule": rule, "notice": NOTICES.get(request.query_params.get("done", ""), ""),
        "password_errors": [], "totp_error": "", "enrolment": None, "recovery_codes": None,
        **extra,
    }
    return render(request, "account/index.html", context, status_code=status)


@router.get("/account", include_in_schema=False)
def account_page(request: Request, principal: PendingPagePrincipal) -> Response:
    return _page(request, principal)


@router.post("/account/password", include_in_schema=False)
def change_password(
    request: Request,
    principal: PendingPagePrincipal,
    old_password: Annotated[str, Form(max_length=200)] = "",
    new_password: Annotated[str, Form(max_length=200)] = "",
    confirm_password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    pid = person_id(principal)
    errors = []
    if not old_password:
        errors.append("请输入原密码")
    if not new_password:
        errors.append("请输入新密码")
    elif new_password != confirm_password:
        errors.append("两次输入的新密码不一致")
    if not errors:
        try:
            with writing(request) as session:
                auth.change_password(session, person_id=pid, old_password=old_password, new_password=new_password,
                                     keep_cookie=request.cookies.get(SESSION_COOKIE))
                audit(session, request, principal, "auth.password_changed", target_kind="person", target_id=pid)
        except DomainError as exc:
            errors = [problem.message for problem in exc.errors] or [exc.detail]
    if errors:
        return _page(request, principal, status=422, password_errors=errors)
    if _restriction(request) == "password_change_required":
        request.state.restriction = None  # changed just now: what remains (if anything) is the second factor
    return RedirectResponse("/account?done=password", status_code=303)


@router.post("/account/totp", include_in_schema=False)
def begin_totp(request: Request, principal: PendingPagePrincipal) -> Response:
    pid = person_id(principal)
    try:
        with writing(request) as session:
            username = person_out(session, person_id=pid).username
            enrolment = totp.begin_enrolment(session, person_id=pid, username=username, now=utcnow())
            audit(session, request, principal, "auth.totp_enrolment_started", target_kind="person", target_id=pid)
    except DomainError as exc:
        return _page(request, principal, status=409, totp_error=exc.detail)
    shown = {"secret": enrolment.secret, "qr": qr_svg(enrolment.uri),
             "grouped": " ".join(enrolment.secret[i:i + 4] for i in range(0, len(enrolment.secret), 4))}
    return _page(request, principal, enrolment=shown)


@router.post("/account/totp/confirm", include_in_schema=False)
def confirm_totp(request: Request, principal: PendingPagePrincipal,
                 code: Annotated[str, Form(max_length=20)] = "") -> Response:
    pid = person_id(principal)
    now = utcnow()
    try:
        with writing(request) as session:
            codes = totp.confirm_enrolment(session, person_id=pid, code=code.strip(), now=now)
            cookie = request.cookies.get(SESSION_COOKIE)
            if cookie:
                auth.mark_second_factor(session, cookie=cookie, now=now)
            audit(session, request, principal, "auth.totp_enrolled", target_kind="person", target_id=pid)
    except DomainError as exc:
        return _page(request, principal, status=422, totp_error=exc.detail)
    if _restriction(request) == "totp_enrolment_required":
        request.state.restriction = None
    return _page(request, principal, recovery_codes=codes)


@router.post("/account/totp/remove", include_in_schema=False)
def remove_totp(request: Request, principal: PagePrincipal,
                code: Annotated[str, Form(max_length=20)] = "") -> Response:
    pid = person_id(principal)
    try:
        with writing(request) as session:
            totp.remove_second_factor(session, principal=principal, code=code, now=utcnow())
            audit(session, request, principal, "auth.totp_removed", target_kind="person", target_id=pid)
    except DomainError as exc:
        return _page(request, principal, status=422 if exc.kind == "invalid" else 403, totp_error=exc.detail)
    return RedirectResponse("/account?done=totp_removed", status_code=303)
