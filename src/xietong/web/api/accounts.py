"""/api/v1/accounts: the security administrator's work — accounts, role grants (三员分立), unlocking."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from xietong.errors import Forbidden
from xietong.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from xietong.security import accounts
from xietong.security.accounts import ScopeRef
from xietong.security.principal import Principal
from xietong.web.bodies import RequestBody
from xietong.web.deps import CurrentPrincipal, audit, reading, writing

router = APIRouter(prefix="/accounts", tags=["账号与授权"])


class GrantIn(RequestBody):
    role: str = Field(max_length=30, description="角色：" + "、".join(f"{k}（{v}）" for k, v in accounts.ROLES.items()))
    scope_kind: Literal["unit_subtree", "region", "all"]
    unit_id: int | None = None
    region_id: int | None = None


class GrantOut(BaseModel):
    id: int
    role: str
    scope_kind: str
    scope_label: str


class AccountOut(BaseModel):
    person_id: int
    username: str
    name: str
    active: bool
    units: list[str]
    grants: list[GrantOut]
    has_password: bool
    must_change: bool
    locked_until: datetime | None
    failed_count: int


def _require_security_admin(principal: Principal) -> None:
    if principal.kind != "system" and not principal.has_role("security_admin"):
        raise Forbidden(code="not_security_admin", detail="只有安全管理员可以管理账号与授权")


def _account_out(account: accounts.Account) -> AccountOut:
    return AccountOut(
        person_id=account.person_id, username=account.username, name=account.name, active=account.active,
        units=list(account.units), grants=[GrantOut(**vars(g)) for g in account.grants],
        has_password=account.has_password, must_change=account.must_change,
        locked_until=account.locked_until, failed_count=account.failed_count,
    )


@router.get("", summary="账号列表（安全管理员）")
def list_accounts(
    request: Request, principal: CurrentPrincipal, unit_id: int | None = None, role: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Page[AccountOut]:
    """The accounts in this security administrator's scope; ``unit_id`` takes the unit's whole subtree."""
    _require_security_admin(principal)
    with reading(request) as session:
        rows, next_cursor = accounts.accounts_page(session, viewer=principal, cursor=cursor, limit=limit,
                                                   unit_id=unit_id, role=role)
        return Page[AccountOut](items=[_account_out(a) for a in rows], next_cursor=next_cursor)


@router.post("/{person_id}/roles", status_code=201, summary="授予角色（三员分立：不能授予自己，一人只任三员之一）")
def grant(person_id: int, body: GrantIn, request: Request, principal: CurrentPrincipal) -> GrantOut:
    _require_security_admin(principal)
    scope = ScopeRef(body.scope_kind, body.unit_id, body.region_id)
    with writing(request) as session:
        made = accounts.grant_role(session, person_id=person_id, role=body.role, scope=scope, granted_by=principal)
        audit(session, request, principal, "accounts.role_granted", target_kind="person", target_id=person_id,
              role=body.role, scope_kind=body.scope_kind, unit_id=body.unit_id, region_id=body.region_id)
        row = accounts.account(session, person_id=person_id)
        (out,) = [GrantOut(**vars(g)) for g in row.grants if g.id == made.id]
    return out


@router.delete("/{person_id}/roles/{role}", status_code=204, summary="撤销该人员的某一角色（全部范围）")
def revoke(person_id: int, role: str, request: Request, principal: CurrentPrincipal) -> Response:
    _require_security_admin(principal)
    with writing(request) as session:
        removed = accounts.revoke_role(session, person_id=person_id, role=role, revoked_by=principal)
        audit(session, request, principal, "accounts.role_revoked", target_kind="person", target_id=person_id,
              role=role, grants=removed)
    return Response(status_code=204)


@router.post("/{person_id}/unlock", status_code=204, summary="解除登录锁定")
def unlock(person_id: int, request: Request, principal: CurrentPrincipal) -> Response:
    _require_security_admin(principal)
    with writing(request) as session:
        accounts.unlock_account(session, person_id=person_id, unlocked_by=principal)
        audit(session, request, principal, "accounts.unlocked", target_kind="person", target_id=person_id)
    return Response(status_code=204)


class InitialPassword(BaseModel):
    password: str = Field(description="生成的初始密码，只返回这一次；首次登录后必须修改")


@router.post("/{person_id}/password", summary="重置为初始密码（生成，下次登录须修改；其登录会话全部退出）")
def reset_password(person_id: int, request: Request, principal: CurrentPrincipal) -> InitialPassword:
    _require_security_admin(principal)
    with writing(request) as session:
        password = accounts.reset_password(session, person_id=person_id, reset_by=principal)
        audit(session, request, principal, "accounts.password_reset", target_kind="person", target_id=person_id)
    return InitialPassword(password=password)
