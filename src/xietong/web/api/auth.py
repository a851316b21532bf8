"""/api/v1/auth: log-in and log-out (session cookie), who am I, password change, personal API tokens."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from xietong.db.base import utcnow
from xietong.directory.service import person_out
from xietong.security import auth
from xietong.security.principal import load_principal
from xietong.web.deps import CSRF_HEADER, SESSION_COOKIE, CurrentPrincipal, audit, reading, settings_of, writing
from xietong.web.sessions import close_session, open_session, set_session_cookie

router = APIRouter(prefix="/auth", tags=["登录与令牌"])


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


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


class PasswordIn(BaseModel):
    old_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)


class TokenIn(BaseModel):
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


def _me(request: Request, person_id: int, csrf_token: str | None, must_change: bool) -> MeOut:
    with reading(request) as session:
        principal = load_principal(session, person_id)
        person = person_out(session, person_id=person_id)
    return MeOut(
        person_id=person_id, name=person.name, username=person.username, unit_ids=sorted(principal.unit_ids),
        posts=sorted(principal.posts),
        roles=[GrantOut(role=g.role, scope_kind=g.scope_kind, region_id=g.region_id, unit_path=g.unit_path)
               for g in principal.grants],
        csrf_token=csrf_token, must_change_password=must_change,
    )


@router.post("/login", summary="用户名密码登录，返回会话 cookie")
def login(body: LoginIn, request: Request, response: Response) -> MeOut:
    outcome = open_session(request, username=body.username, password=body.password)
    assert outcome.person_id is not None
    set_session_cookie(response, request, outcome.cookie)
    must_change = outcome.must_change and not settings_of(request).demo
    return _me(request, outcome.person_id, outcome.csrf_token, must_change)


@router.post("/logout", status_code=204, summary="退出登录")
def logout(request: Request, principal: CurrentPrincipal) -> Response:
    response = Response(status_code=204)
    close_session(request, response, principal)
    return response


@router.get("/me", summary="当前登录人")
def me(request: Request, principal: CurrentPrincipal) -> MeOut:
    assert principal.id is not None
    cookie = request.cookies.get(SESSION_COOKIE)
    csrf = None
    if cookie and "authorization" not in request.headers:
        with reading(request) as session:
            csrf = auth.find_session(session, cookie=cookie, now=utcnow()).csrf_token
    return _me(request, principal.id, csrf, False)


@router.post("/password", status_code=204, summary="修改本人密码")
def change_password(body: PasswordIn, request: Request, principal: CurrentPrincipal) -> Response:
    assert principal.id is not None
    with writing(request) as session:
        auth.change_password(
            session, person_id=principal.id, old_password=body.old_password, new_password=body.new_password,
            keep_cookie=request.cookies.get(SESSION_COOKIE),
        )
        audit(session, request, principal, "auth.password_changed", target_kind="person", target_id=principal.id)
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
