"""账号与授权: the security administrator's pages (三员分立). The account list — filtered by unit (the unit
picker), role, lock state or a word — with lock state, last log-in, second factor and the roles with their scope;
one account's page to grant a role with its scope (a unit subtree, a region, or the whole city), revoke a grant,
unlock a locked account and reset the password to a generated initial one that must be changed at the next log-in.

Only a security administrator opens these pages; the service (``security/accounts.py``) refuses granting to
oneself, a second role of the three administrators, or a scope beyond the grantor's, and the page shows each
refusal in Chinese where it happened. Everything is audited as the API audits it (``web/api/accounts.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from xietong.db.base import utcnow
from xietong.errors import DomainError, Forbidden
from xietong.security import accounts
from xietong.security.accounts import ROLES, ScopeRef
from xietong.security.principal import Principal
from xietong.web.deps import audit, reading, writing
from xietong.web.pages.access import PagePrincipal
from xietong.web.pages.admin_picker import regions_of, unit_choice, unit_choices
from xietong.web.pages.forms import with_posted_form
from xietong.web.pages.rendering import render

router = APIRouter()
LIST_LIMIT = 50
SCOPES = {"unit_subtree": "单位及下级", "region": "行政区划", "all": "全市（全部范围）"}
DONE = {"granted": "已授予角色", "revoked": "已撤销授权", "unlocked": "已解除锁定"}
STATUS = {"invalid": 422, "conflict": 409, "not_found": 404, "forbidden": 403}


def require_security_admin(principal: Principal) -> None:
    if principal.kind != "person" or not principal.has_role("security_admin"):
        raise Forbidden(code="not_security_admin", detail="只有安全管理员可以管理账号与授权")


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18 else None


@router.get("/admin/accounts", include_in_schema=False)
def account_list(request: Request, principal: PagePrincipal, q: Annotated[str, Query(max_length=50)] = "",
                 role: Annotated[str, Query(max_length=30)] = "",
                 locked: Annotated[str, Query(max_length=5)] = "",
                 cursor: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    require_security_admin(principal)
    params = request.query_params
    unit_id = _int(params.get("unit-unit"))
    unit_q, unit_region = params.get("unit-q", "")[:50], _int(params.get("unit-region"))
    now = utcnow()
    with reading(request) as session:
        chosen = unit_choice(session, unit_id)
        rows, next_cursor = accounts.accounts_page(
            session, viewer=principal, cursor=cursor, limit=LIST_LIMIT, unit_id=unit_id,
            role=role if role in ROLES else None, locked={"yes": True, "no": False}.get(locked), keyword=q, now=now)
        choices = unit_choices(session, principal, "accounts", keyword=unit_q, region_id=unit_region, chosen=chosen)
        regions = regions_of(session)
    next_url = f"/admin/accounts?{request.url.include_query_params(cursor=next_cursor).query}" if next_cursor else None
    context = {"rows": rows, "next_url": next_url, "paged": bool(cursor), "q": q, "role": role, "locked": locked,
               "roles": ROLES, "unit_id": unit_id, "unit_q": unit_q, "unit_region": unit_region,
               "choices": choices, "regions": regions, "now": now}
    return render(request, "admin/accounts.html", context)


def account_page(request: Request, principal: Principal, person_id: int, *, grant_values: dict[str, Any] | None = None,
                 errors: dict[str, list[str]] | None = None, refusal: str = "", done: str = "",
                 new_password: str = "", status: int = 200) -> Response:
    """One account: its state, its grants (撤销 where this administrator may), the grant form, unlock and reset."""
    values = grant_values or {"role": "", "scope_kind": "unit_subtree"}
    with reading(request) as session:
        account = accounts.account(session, person_id=person_id)
        chosen = unit_choice(session, values.get("unit_id"))
        choices = unit_choices(session, principal, "accounts", keyword=values.get("unit_q", ""),
                               region_id=values.get("unit_region"), chosen=chosen)
        regions = regions_of(session)
    grants = [(grant, accounts.may_change_grant(principal, person_id, grant)) for grant in account.grants]
    context = {"account": account, "grants": grants, "roles": ROLES, "scopes": SCOPES, "values": values,
               "choices": choices, "regions": regions, "errors": errors or {}, "refusal": refusal,
               "done": DONE.get(done, ""), "new_password": new_password, "now": utcnow(),
               "is_self": principal.id == person_id}
    response = render(request, "admin/account_admin.html", context, status_code=status)
    if new_password:
        response.headers["Cache-Control"] = "no-store"  # the initial password is shown once
    return response


@router.get("/admin/accounts/{person_id}", include_in_schema=False)
def account_detail(person_id: int, request: Request, principal: PagePrincipal,
                   done: Annotated[str, Query(max_length=20)] = "") -> Response:
    require_security_admin(principal)
    return account_page(request, principal, person_id, done=done)


@router.post("/admin/accounts/{person_id}/roles", include_in_schema=False)
async def grant_role(person_id: int, request: Request, principal: PagePrincipal) -> Response:
    return await with_posted_form(request, _grant, request, principal, person_id)


def _grant_values(form: FormData) -> dict[str, Any]:
    def text(key: str, limit: int) -> str:
        value = form.get(key)
        return value.strip()[:limit] if isinstance(value, str) else ""

    return {"role": text("role", 30), "scope_kind": text("scope_kind", 20), "unit_id": _int(form.get("scope-unit")),
            "unit_q": text("scope-q", 50), "unit_region": _int(form.get("scope-region")),
            "region_id": _int(form.get("region"))}


def _scope(values: dict[str, Any]) -> tuple[ScopeRef | None, dict[str, list[str]]]:
    kind = values["scope_kind"]
    if kind == "unit_subtree":
        if values["unit_id"] is None:
            return None, {"scope": ["请在查找结果中选择授权范围的单位"]}
        return ScopeRef(kind, unit_id=values["unit_id"]), {}
    if kind == "region":
        if values["region_id"] is None:
            return None, {"region": ["请选择授权范围的行政区划"]}
        return ScopeRef(kind, region_id=values["region_id"]), {}
    if kind == "all":
        return ScopeRef(kind), {}
    return None, {"scope_kind": ["请选择授权范围"]}


def _grant(request: Request, principal: Principal, person_id: int, form: FormData) -> Response:
    require_security_admin(principal)
    values = _grant_values(form)
    if form.get("find"):
        return account_page(request, principal, person_id, grant_values=values)
    errors: dict[str, list[str]] = {} if values["role"] in ROLES else {"role": ["请选择要授予的角色"]}
    scope, scope_errors = _scope(values)
    errors.update(scope_errors)
    if errors or scope is None:
        return account_page(request, principal, person_id, grant_values=values, errors=errors,
                            refusal="请按提示修改授权内容", status=422)
    try:
        with writing(request) as session:
            accounts.grant_role(session, person_id=person_id, role=values["role"], scope=scope, granted_by=principal)
            audit(session, request, principal, "accounts.role_granted", target_kind="person", target_id=person_id,
                  role=values["role"], scope_kind=scope.kind, unit_id=scope.unit_id, region_id=scope.region_id)
    except DomainError as exc:
        if exc.kind == "not_found" and exc.code == "person_not_found":
            raise
        field = {"role": "role", "unit": "scope", "scope": "scope_kind", "region": "region"}
        found: dict[str, list[str]] = {}
        for problem in exc.errors:
            found.setdefault(field.get(problem.field, "role"), []).append(problem.message)
        if exc.code == "separation_of_duties":
            found.setdefault("role", []).append(exc.detail)
        return account_page(request, principal, person_id, grant_values=values, errors=found, refusal=exc.detail,
                            status=STATUS.get(exc.kind, 422))
    return RedirectResponse(f"/admin/accounts/{person_id}?done=granted", status_code=303)


def _refused_or(request: Request, principal: Principal, person_id: int, exc: DomainError) -> Response:
    """A refusal of the service on the account's page, in Chinese (never a bare error page)."""
    if exc.code == "person_not_found":
        raise exc
    return account_page(request, principal, person_id, refusal=exc.detail, status=STATUS.get(exc.kind, 422))


@router.post("/admin/accounts/{person_id}/grants/{grant_id}/revoke", include_in_schema=False)
def revoke_grant(person_id: int, grant_id: int, request: Request, principal: PagePrincipal) -> Response:
    require_security_admin(principal)
    try:
        with writing(request) as session:
            grant = accounts.revoke_grant(session, person_id=person_id, grant_id=grant_id, revoked_by=principal)
            audit(session, request, principal, "accounts.role_revoked", target_kind="person", target_id=person_id,
                  role=grant.role, scope_kind=grant.scope_kind, unit_id=grant.scope_unit_id,
                  region_id=grant.scope_region_id, grants=1)
    except DomainError as exc:
        return _refused_or(request, principal, person_id, exc)
    return RedirectResponse(f"/admin/accounts/{person_id}?done=revoked", status_code=303)


@router.post("/admin/accounts/{person_id}/unlock", include_in_schema=False)
def unlock(person_id: int, request: Request, principal: PagePrincipal) -> Response:
    require_security_admin(principal)
    try:
        with writing(request) as session:
            accounts.unlock_account(session, person_id=person_id, unlocked_by=principal)
            audit(session, request, principal, "accounts.unlocked", target_kind="person", target_id=person_id)
    except DomainError as exc:
        return _refused_or(request, principal, person_id, exc)
    return RedirectResponse(f"/admin/accounts/{person_id}?done=unlocked", status_code=303)


@router.post("/admin/accounts/{person_id}/password", include_in_schema=False)
def reset_password(person_id: int, request: Request, principal: PagePrincipal) -> Response:
    require_security_admin(principal)
    try:
        with writing(request) as session:
            password = accounts.reset_password(session, person_id=person_id, reset_by=principal)
            audit(session, request, principal, "accounts.password_reset", target_kind="person", target_id=person_id)
    except DomainError as exc:
        return _refused_or(request, principal, person_id, exc)
    return account_page(request, principal, person_id, new_password=password)
