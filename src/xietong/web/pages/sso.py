"""Single sign-on pages: the OpenID Connect redirect and callback, the TOTP step after it, and the messaging app's
免登 page (``docs/sso.md``).

Between the redirect and the callback the browser carries the attempt (``state``, ``nonce``, PKCE verifier, where
to go next) in a short-lived cookie signed with a key derived from the instance secret: nothing is stored, a
callback from another browser has no cookie, a tampered one fails its signature. The outside system is called
with no transaction open; linking, the session and the audit record are then one transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from joserfc.jwt import JWTClaimsRegistry

from xietong.db.base import utcnow
from xietong.errors import DomainError, Forbidden, NotFound, Unauthenticated, Unavailable
from xietong.integrations.messaging import login as messaging_login
from xietong.integrations.oidc import client as oidc
from xietong.security import sso
from xietong.web.deps import SESSION_COOKIE, authenticate, secret_of, settings_of
from xietong.web.pages.auth import safe_next
from xietong.web.pages.rendering import render
from xietong.web.sessions import audit_refusal, open_sso_session, set_session_cookie, sso_second_factor

router = APIRouter(prefix="/sso")
ATTEMPT_COOKIE, SECOND_COOKIE, DINGTALK_COOKIE = "xt_sso", "xt_sso_totp", "xt_sso_dingtalk"
ATTEMPT_SECONDS, SECOND_SECONDS = 600, 300
STATUS = {"forbidden": 403, "unauthenticated": 401, "unavailable": 503, "not_found": 404, "conflict": 409}


def _key(request: Request) -> OctKey:
    raw = hmac.new(secret_of(request).encode(), b"xietong sso cookie", hashlib.sha256).digest()
    return OctKey.import_key(raw)


def _sign(request: Request, purpose: str, claims: dict[str, Any], seconds: int) -> str:
    now = int(utcnow().timestamp())
    return jwt.encode({"alg": "HS256"}, {**claims, "purpose": purpose, "iat": now, "exp": now + seconds},
                      _key(request), algorithms=["HS256"])


def _unsigned(request: Request, purpose: str, cookie: str | None) -> dict[str, Any] | None:
    """The claims of our own signed cookie, or None when it is missing, forged, expired or for another step."""
    if not cookie:
        return None
    try:
        token = jwt.decode(cookie, _key(request), algorithms=["HS256"])
        JWTClaimsRegistry(exp={"essential": True}, purpose={"essential": True, "value": purpose}).validate(
            token.claims)
    except (JoseError, ValueError):
        return None
    return dict(token.claims)


def _set_cookie(response: Response, request: Request, name: str, value: str, seconds: int) -> None:
    response.set_cookie(name, value, max_age=seconds, path="/sso", httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")


def _http(request: Request) -> httpx.Client:
    return httpx.Client(timeout=settings_of(request).outbound_timeout_seconds)


def _signed_in(request: Request) -> bool:
    """A browser already logged in has no log-in to start; a program (a token) never starts one."""
    if request.headers.get("authorization"):
        raise Forbidden(code="sso_browser_only", detail="单点登录只能在浏览器中进行；程序请使用 API 令牌")
    if not request.cookies.get(SESSION_COOKIE):
        return False
    try:
        authenticate(request, csrf_sent="")
    except DomainError:
        return False
    return True


def _redirect_uri(request: Request) -> str:
    """The configured callback URL; only demo mode (the stand-in's random ports) derives it from the request."""
    settings = settings_of(request)
    if settings.oidc_redirect_uri:
        return settings.oidc_redirect_uri
    if not settings.demo:  # production refuses to start so; this is the belt to those braces
        raise Unavailable(code="sso_redirect_unset", detail="统一身份认证未配置回调地址，请联系系统管理员")
    return str(request.url_for("sso_callback"))


def _refused(request: Request, exc: DomainError, *, method: str, **details: Any) -> Response:
    """Audit the refusal (its own transaction) and show it."""
    audit_refusal(request, exc, method=method, **details)
    return _refusal_page(request, exc)


def _refusal_page(request: Request, exc: DomainError) -> Response:
    """A refusal in Chinese: never a new account, never a session."""
    response = render(request, "auth/sso_refused.html", {"detail": exc.detail, "code": exc.code},
                      status_code=STATUS.get(exc.kind, 400))
    response.delete_cookie(ATTEMPT_COOKIE, path="/sso")
    response.delete_cookie(SECOND_COOKIE, path="/sso")
    return response


@router.get("/login", include_in_schema=False)
def sso_login(request: Request, next: str = "") -> Response:
    settings = settings_of(request)
    if not oidc.configured(settings):
        raise NotFound(code="sso_not_configured", detail="本系统未配置统一身份认证")
    if _signed_in(request):  # already logged in (like /login)
        return RedirectResponse(safe_next(next), status_code=303)
    attempt = oidc.new_attempt()
    try:
        with _http(request) as client:
            url = oidc.authorization_url(client, settings, attempt=attempt, redirect_uri=_redirect_uri(request))
    except DomainError as exc:
        return _refused(request, exc, method="oidc")
    response = RedirectResponse(url, status_code=303)
    cookie = _sign(request, "oidc", {"state": attempt.state, "nonce": attempt.nonce,
                                     "verifier": attempt.code_verifier, "next": safe_next(next)}, ATTEMPT_SECONDS)
    _set_cookie(response, request, ATTEMPT_COOKIE, cookie, ATTEMPT_SECONDS)
    return response


@router.get("/callback", name="sso_callback", include_in_schema=False)
def sso_callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    settings = settings_of(request)
    if not oidc.configured(settings):
        raise NotFound(code="sso_not_configured", detail="本系统未配置统一身份认证")
    carried = _unsigned(request, "oidc", request.cookies.get(ATTEMPT_COOKIE))
    if carried is None or not state or not hmac.compare_digest(str(carried["state"]), state):
        stale = Unauthenticated(code="sso_state_mismatch", detail="登录请求已过期或不是从本浏览器发起的，请重新登录")
        return _refused(request, stale, method="oidc")
    if error or not code:
        denied = error == "access_denied"
        refusal = Unauthenticated(code="sso_provider_denied" if denied else "sso_provider_error",
                                  detail="您在统一身份认证取消了登录" if denied else "统一身份认证没有完成登录，请重试")
        return _refused(request, refusal, method="oidc", error=error[:60])
    attempt = oidc.Attempt(str(carried["state"]), str(carried["nonce"]), str(carried["verifier"]))
    try:
        with _http(request) as client:
            verified = oidc.exchange(client, settings, attempt=attempt, code=code, redirect_uri=_redirect_uri(request))
    except DomainError as exc:
        return _refused(request, exc, method="oidc", reason=str(exc.__cause__ or "")[:200])
    identity = sso.OutsideIdentity(verified.issuer, verified.subject, verified.employee_code, verified.amr)
    return _log_in(request, identity, method="oidc", next_=str(carried.get("next") or ""))


def _log_in(request: Request, identity: sso.OutsideIdentity, *, method: str, next_: str) -> Response:
    """Link or follow the link, then open the session — or ask for the second factor first."""
    try:
        opened = open_sso_session(request, identity, method=method)
    except DomainError as exc:
        return _refusal_page(request, exc)  # audited already
    if opened.outcome is None:
        response = RedirectResponse("/sso/totp", status_code=303)
        second = _sign(request, "totp", {"person_id": opened.person_id, "method": method,
                                         "next": safe_next(next_)}, SECOND_SECONDS)
        _set_cookie(response, request, SECOND_COOKIE, second, SECOND_SECONDS)
    else:
        response = RedirectResponse(safe_next(next_), status_code=303)
        set_session_cookie(response, request, opened.outcome.cookie)
    response.delete_cookie(ATTEMPT_COOKIE, path="/sso")
    return response


@router.get("/totp", include_in_schema=False)
def totp_page(request: Request) -> Response:
    if _unsigned(request, "totp", request.cookies.get(SECOND_COOKIE)) is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "auth/sso_totp.html", {"error": ""})


@router.post("/totp", include_in_schema=False)
def totp_submit(request: Request, totp_code: Annotated[str, Form(max_length=20)] = "") -> Response:
    carried = _unsigned(request, "totp", request.cookies.get(SECOND_COOKIE))
    if carried is None:
        return RedirectResponse("/login?expired=1", status_code=303)
    person_id, method = int(carried["person_id"]), str(carried["method"])
    if not totp_code.strip():
        return render(request, "auth/sso_totp.html", {"error": "请输入动态验证码"}, status_code=422)
    try:
        outcome = sso_second_factor(request, person_id=person_id, method=method, code=totp_code.strip())
    except DomainError as exc:
        if exc.code == "bad_totp":
            return render(request, "auth/sso_totp.html", {"error": exc.detail}, status_code=401)
        return _refusal_page(request, exc)
    response = RedirectResponse(safe_next(str(carried.get("next") or "")), status_code=303)
    set_session_cookie(response, request, outcome.cookie)
    response.delete_cookie(SECOND_COOKIE, path="/sso")
    return response


@router.get("/dingtalk", include_in_schema=False)
def dingtalk_page(
    request: Request, authCode: str = "", next: str = ""  # the JS API's name for it
) -> Response:
    settings = settings_of(request)
    if not messaging_login.configured(settings):
        raise NotFound(code="sso_not_configured", detail="本系统未配置浙政钉免登")
    if _signed_in(request):  # the app's entry page opened again within a live session
        return RedirectResponse(safe_next(next), status_code=303)
    demo_url = f"{settings.messaging_url}/demo/authcode?redirect_uri=/sso/dingtalk" if settings.demo else ""
    # The page's form carries a nonce that only this browser's cookie matches: a code pasted into a link or posted
    # from another site (log-in CSRF — being logged in as someone else) is refused. The code comes from the JS
    # API in the messaging app; only the demo's stand-in hands it over in the address.
    nonce = secrets.token_urlsafe(16)
    response = render(request, "auth/dingtalk.html", {
        "code": authCode[:200] if settings.demo else "", "next": safe_next(next), "nonce": nonce,
        "corp_id": settings.messaging_corp_id or "", "jsapi": settings.messaging_jsapi_path or "",
        "demo_url": demo_url,
    })
    _set_cookie(response, request, DINGTALK_COOKIE, _sign(request, "dingtalk", {"nonce": nonce}, ATTEMPT_SECONDS),
                ATTEMPT_SECONDS)
    return response


@router.post("/dingtalk", include_in_schema=False)
def dingtalk_login(
    request: Request,
    code: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
    nonce: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    settings = settings_of(request)
    if not messaging_login.configured(settings):
        raise NotFound(code="sso_not_configured", detail="本系统未配置浙政钉免登")
    carried = _unsigned(request, "dingtalk", request.cookies.get(DINGTALK_COOKIE))
    if carried is None or not nonce or not hmac.compare_digest(str(carried.get("nonce", "")), nonce):
        forged = Unauthenticated(code="sso_state_mismatch",
                                 detail="登录请求不是从本页发起的，请在浙政钉应用内重新打开本页")
        return _refused(request, forged, method="dingtalk")
    if not code.strip():
        missing = Unauthenticated(code="sso_no_code", detail="没有收到免登授权码，请在浙政钉应用内打开本页")
        return _refused(request, missing, method="dingtalk")
    try:
        with _http(request) as client:
            user = messaging_login.exchange_code(client, settings, code=code.strip())
    except DomainError as exc:
        return _refused(request, exc, method="dingtalk", reason=str(exc.__cause__ or "")[:200])
    identity = sso.OutsideIdentity(user.issuer, user.userid, user.employee_code)
    return _log_in(request, identity, method="dingtalk", next_=next)
