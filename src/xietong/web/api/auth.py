"""/api/v1/auth: log-in and log-out (session cookie), who am I, password change, the second factor (TOTP),
personal API tokens, 免登 for the phone client."""

from __future__ import annotations

from datetime import datetime

import httpx
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from xietong.db.base import utcnow
from xietong.directory.service import person_out
from xietong.errors import DomainError, NotFound, Unauthenticated
from xietong.integrations.messaging import login as messaging_login
from xietong.security import auth, totp
from xietong.security.principal import load_principal
from xietong.security.sso import OutsideIdentity
from xietong.web.bodies import RequestBody
from xietong.web.deps import (
    CSRF_HEADER,
    SESSION_COOKIE,
    CurrentPrincipal,
    PendingPrincipal,
    audit,
    reading,
    settings_of,
    writing,
)
from xietong.web.sessions import (
    audit_refusal,
    close_session,
    open_session,
    open_sso_session,
    set_session_cookie,
    sso_second_factor,
)

router = APIRouter(prefix="/auth", tags=["登录与令牌"])


class LoginIn(RequestBody):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)
    totp_code: str | None = Field(
        None, max_length=20, description="动态验证码（6 位）或恢复码；已绑定者必填，缺少时返回 totp_required"
    )


class GrantOut(BaseModel):
    role: str
    scope_kind: str
    region_id: int | None
    unit_path: str | None


class MeOut(BaseModel):
    person_id: int
    name: str
    username: str
    unit_ids: list[int]
    posts: list[tuple[int, int]]
    roles: list[GrantOut]
    csrf_token: str | None = Field(None, description=f"cookie 会话的 CSRF 令牌：非 GET 请求须放在 {CSRF_HEADER} 请求头")
    must_change_password: bool = False
    second_factor: bool = Field(False, description="已绑定动态验证码（TOTP）")
    second_factor_required: bool = Field(False, description="须先绑定动态验证码（管理员）才能继续")


class TotpEnrolmentOut(BaseModel):
    secret: str = Field(description="TOTP 密钥（Base32），可手工输入验证器应用")
    otpauth_uri: str = Field(description="otpauth:// 地址，可生成二维码供验证器应用扫描")


class TotpCodeIn(RequestBody):
    code: str = Field(min_length=6, max_length=20)


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str] = Field(description="一次性恢复码，只显示这一次，请妥善保存")


class PasswordIn(RequestBody):
    old_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)


class TokenIn(RequestBody):
    name: str = Field(min_length=1, max_length=100)
    expires_at: datetime | None = None


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class IssuedTokenOut(TokenOut):
    token: str = Field(description="令牌明文，只显示这一次")


def _me(
    request: Request, person_id: int, csrf_token: str | None, must_change: bool, second_factor_at: datetime | None
) -> MeOut:
    with reading(request) as session:
        principal = load_principal(session, person_id)
        person = person_out(session, person_id=person_id)
        enrolled = totp.has_second_factor(session, person_id)
    required = not settings_of(request).demo and totp.requires_second_factor(principal) and second_factor_at is None
    return MeOut(
        person_id=person_id, name=person.name, username=person.username, unit_ids=sorted(principal.unit_ids),
        posts=sorted(principal.posts),
        roles=[GrantOut(role=g.role, scope_kind=g.scope_kind, region_id=g.region_id, unit_path=g.unit_path)
               for g in principal.grants],
        csrf_token=csrf_token, must_change_password=must_change, second_factor=enrolled,
        second_factor_required=required,
    )


@router.post("/login", summary="用户名密码登录，返回会话 cookie")
def login(body: LoginIn, request: Request, response: Response) -> MeOut:
    outcome = open_session(request, username=body.username, password=body.password, second_factor=body.totp_code)
    assert outcome.person_id is not None
    set_session_cookie(response, request, outcome.cookie)
    must_change = outcome.must_change and not settings_of(request).demo
    return _me(request, outcome.person_id, outcome.csrf_token, must_change, outcome.second_factor_at)


@router.post("/logout", status_code=204, summary="退出登录")
def logout(request: Request, principal: PendingPrincipal) -> Response:
    response = Response(status_code=204)
    close_session(request, response, principal)
    return response


@router.get("/me", summary="当前登录人")
def me(request: Request, principal: PendingPrincipal) -> MeOut:
    assert principal.id is not None
    cookie = request.cookies.get(SESSION_COOKIE)
    csrf, must_change, verified_at = None, False, utcnow()  # a token was issued by a whole session
    if cookie and "authorization" not in request.headers:
        with reading(request) as session:
            info = auth.find_session(session, cookie=cookie, now=utcnow())
        csrf, verified_at = info.csrf_token, info.second_factor_at
        must_change = info.must_change and not settings_of(request).demo
    return _me(request, principal.id, csrf, must_change, verified_at)


@router.post("/password", status_code=204, summary="修改本人密码")
def change_password(body: PasswordIn, request: Request, principal: PendingPrincipal) -> Response:
    assert principal.id is not None
    with writing(request) as session:
        auth.change_password(
            session, person_id=principal.id, old_password=body.old_password, new_password=body.new_password,
            keep_cookie=request.cookies.get(SESSION_COOKIE),
        )
        audit(session, request, principal, "auth.password_changed", target_kind="person", target_id=principal.id)
    return Response(status_code=204)


@router.post("/totp", status_code=201, summary="开始绑定动态验证码（TOTP）：返回密钥与 otpauth 地址")
def begin_totp(request: Request, principal: PendingPrincipal) -> TotpEnrolmentOut:
    assert principal.id is not None
    with writing(request) as session:
        username = person_out(session, person_id=principal.id).username
        enrolment = totp.begin_enrolment(session, person_id=principal.id, username=username, now=utcnow())
        audit(session, request, principal, "auth.totp_enrolment_started", target_kind="person", target_id=principal.id)
    return TotpEnrolmentOut(secret=enrolment.secret, otpauth_uri=enrolment.uri)


@router.post("/totp/confirm", summary="用第一个动态验证码确认绑定；返回一次性恢复码")
def confirm_totp(body: TotpCodeIn, request: Request, principal: PendingPrincipal) -> RecoveryCodesOut:
    assert principal.id is not None
    now = utcnow()
    with writing(request) as session:
        codes = totp.confirm_enrolment(session, person_id=principal.id, code=body.code, now=now)
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie and "authorization" not in request.headers:
            auth.mark_second_factor(session, cookie=cookie, now=now)
        audit(session, request, principal, "auth.totp_enrolled", target_kind="person", target_id=principal.id)
    return RecoveryCodesOut(recovery_codes=codes)


@router.delete("/totp", status_code=204, summary="解除动态验证码绑定（须提供一个有效验证码；管理员不可解除）")
def remove_totp(body: TotpCodeIn, request: Request, principal: CurrentPrincipal) -> Response:
    with writing(request) as session:
        totp.remove_second_factor(session, principal=principal, code=body.code, now=utcnow())
        audit(session, request, principal, "auth.totp_removed", target_kind="person", target_id=principal.id)
    return Response(status_code=204)


@router.get("/tokens", summary="本人的 API 令牌")
def list_tokens(request: Request, principal: CurrentPrincipal) -> list[TokenOut]:
    assert principal.id is not None
    with reading(request) as session:
        tokens = auth.tokens_of(session, person_id=principal.id)
        return [TokenOut.model_validate(token, from_attributes=True) for token in tokens]


@router.post("/tokens", status_code=201, summary="新建 API 令牌（明文只返回一次）")
def create_token(body: TokenIn, request: Request, principal: CurrentPrincipal) -> IssuedTokenOut:
    assert principal.id is not None
    with writing(request) as session:
        issued = auth.issue_token(
            session, person_id=principal.id, name=body.name, now=utcnow(), expires_at=body.expires_at
        )
        out = TokenOut.model_validate(issued.token, from_attributes=True)
        audit(session, request, principal, "auth.token_issued", target_kind="api_token", target_id=out.id,
              name=out.name, prefix=out.prefix)
    return IssuedTokenOut(**out.model_dump(), token=issued.secret)


@router.delete("/tokens/{token_id}", status_code=204, summary="吊销 API 令牌")
def revoke_token(token_id: int, request: Request, principal: CurrentPrincipal) -> Response:
    assert principal.id is not None
    with writing(request) as session:
        auth.revoke_token(session, person_id=principal.id, token_id=token_id, now=utcnow())
        audit(session, request, principal, "auth.token_revoked", target_kind="api_token", target_id=token_id)
    return Response(status_code=204)


# --- single sign-on for the phone client (docs/sso.md) -------------------------------------------------------


class MessagingCodeIn(RequestBody):
    code: str = Field(min_length=1, max_length=200, description="应用内 JS API 取得的一次性免登授权码")
    totp_code: str | None = Field(
        None, max_length=20, description="已绑定动态验证码者必填；缺少时返回 totp_required，须重新取免登码再提交"
    )


@router.post("/sso/dingtalk", summary="浙政钉免登：用应用内的一次性授权码登录，返回会话 cookie")
def dingtalk_login(body: MessagingCodeIn, request: Request, response: Response) -> MeOut:
    settings = settings_of(request)
    if not messaging_login.configured(settings):
        raise NotFound(code="sso_not_configured", detail="本系统未配置浙政钉免登")
    try:
        with httpx.Client(timeout=settings.outbound_timeout_seconds) as client:
            user = messaging_login.exchange_code(client, settings, code=body.code.strip())
    except DomainError as exc:
        audit_refusal(request, exc, method="dingtalk", reason=str(exc.__cause__ or "")[:200])
        raise
    opened = open_sso_session(request, OutsideIdentity(user.issuer, user.userid, user.employee_code),
                              method="dingtalk")
    outcome = opened.outcome
    if outcome is None:
        if not body.totp_code:
            needed = Unauthenticated(code="totp_required", detail="请输入动态验证码（或一个恢复码），并重新取免登码")
            audit_refusal(request, needed, method="dingtalk", person_id=opened.person_id)
            raise needed
        outcome = sso_second_factor(request, person_id=opened.person_id, method="dingtalk", code=body.totp_code)
    set_session_cookie(response, request, outcome.cookie)
    return _me(request, opened.person_id, outcome.csrf_token, False, outcome.second_factor_at)
