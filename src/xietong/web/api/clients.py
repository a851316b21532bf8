"""/api/v1/clients and /api/v1/oauth/token: administrators register application clients; clients get tokens."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from urllib.parse import parse_qsl, unquote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from xietong.dataservice import clients
from xietong.dataservice.models import ApiClient
from xietong.db.base import utcnow
from xietong.errors import InvalidInput, Unauthenticated
from xietong.web.bodies import RequestBody
from xietong.web.deps import CurrentPrincipal, audit, reading, writing

router = APIRouter(tags=["数据服务：应用"])


class ClientIn(RequestBody):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1, max_length=10, description="cases:read, cases:submit")
    unit_ids: list[int] = Field(min_length=1, max_length=200)
    rate_limit_per_minute: int = Field(600, ge=1, le=100_000)


class ClientOut(BaseModel):
    id: int
    client_id: str
    name: str
    scopes: list[str]
    unit_ids: list[int]
    rate_limit_per_minute: int
    active: bool
    created_at: datetime


class RegisteredOut(ClientOut):
    client_secret: str = Field(description="只在注册时显示一次")


def _out(client: ApiClient) -> ClientOut:
    return ClientOut(
        id=client.id, client_id=client.client_id, name=client.name, scopes=list(client.scopes),
        unit_ids=list(client.unit_ids), rate_limit_per_minute=client.rate_limit_per_minute, active=client.active,
        created_at=client.created_at,
    )


@router.post("/clients", status_code=201, summary="注册应用（客户端凭据；密钥只显示一次）")
def register(body: ClientIn, request: Request, principal: CurrentPrincipal) -> RegisteredOut:
    with writing(request) as session:
        registered = clients.register_client(
            session, principal=principal, name=body.name, scopes=body.scopes, unit_ids=body.unit_ids,
            rate_limit_per_minute=body.rate_limit_per_minute, now=utcnow(),
        )
        audit(session, request, principal, "dataservice.client_registered", target_kind="api_client",
              target_id=registered.client.id, name=body.name, scopes=registered.client.scopes)
        out = _out(registered.client)
    return RegisteredOut(**out.model_dump(), client_secret=registered.secret)


@router.get("/clients", summary="我可管理的应用")
def list_clients(request: Request, principal: CurrentPrincipal) -> list[ClientOut]:
    with reading(request) as session:
        return [_out(c) for c in clients.clients_of(session, principal=principal)]


@router.get("/clients/{client_pk}", summary="应用详情")
def get_client(client_pk: int, request: Request, principal: CurrentPrincipal) -> ClientOut:
    with reading(request) as session:
        return _out(clients.administered_client(session, principal=principal, client_pk=client_pk))


@router.post("/clients/{client_pk}/disable", summary="停用应用（其令牌立即失效）")
def disable(client_pk: int, request: Request, principal: CurrentPrincipal) -> ClientOut:
    with writing(request) as session:
        client = clients.disable_client(session, principal=principal, client_pk=client_pk, now=utcnow())
        audit(session, request, principal, "dataservice.client_disabled", target_kind="api_client", target_id=client.id)
        return _out(client)


def _credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    """client_secret_basic (RFC 6749 §2.3.1: form-encoded id and secret in Basic) or client_secret_post."""
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise _invalid_client() from exc
        client_id, _, secret = decoded.partition(":")
        return unquote(client_id), unquote(secret)
    return form.get("client_id", ""), form.get("client_secret", "")


def _invalid_client() -> Unauthenticated:
    return Unauthenticated(code="invalid_client", detail="应用标识或密钥错误", extra={"error": "invalid_client"})


@router.post("/oauth/token", summary="OAuth2 客户端凭据：换取访问令牌（application/x-www-form-urlencoded）")
async def token(request: Request) -> JSONResponse:
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise InvalidInput(code="invalid_request", detail="请以 application/x-www-form-urlencoded 提交",
                           extra={"error": "invalid_request"})
    form = dict(parse_qsl((await request.body()).decode(errors="replace"), keep_blank_values=True))
    if form.get("grant_type") != "client_credentials":
        raise InvalidInput(code="unsupported_grant_type", detail="只支持 client_credentials 授权方式",
                           extra={"error": "unsupported_grant_type"})
    client_id, secret = _credentials(request, form)
    if not client_id or not secret:
        raise _invalid_client()
    with writing(request) as session:
        issued = clients.issue_access_token(
            session, client_id=client_id, client_secret=secret, scope=form.get("scope"), now=utcnow()
        )
    body = {"access_token": issued.token, "token_type": "Bearer", "expires_in": issued.expires_in,
            "scope": " ".join(issued.scopes)}
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
