"""The security administrator's pages (三员分立) over the real app: the account list with its filters and columns,
granting a role with a unit, region or whole-city scope, the service's refusals shown on the page in Chinese
(oneself, a second of the three administrators, a scope beyond the grantor's), revoking, unlocking a locked
account and resetting a password to an initial one that must be changed; all audited. Only the security
administrator sees the 账号 navigation and opens these pages; a post without the CSRF token is refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from tests.web.conftest import PASSWORD, Api
from tests.web.page_client import page_login
from xietong.db.base import utcnow
from xietong.db.session import read_only, unit_of_work
from xietong.directory.models import Membership, Person, Unit
from xietong.security.models import AuditRecord, Credential, RoleGrant, WebSession
from xietong.security.passwords import hash_password

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class People:
    security: Person  # security administrator over everything
    regional: Person  # security administrator over the city's region only
    target: Person  # an ordinary member of the city's finance bureau, changed by the tests


@pytest.fixture(scope="module")
def people(api: Api) -> Iterator[People]:
    code = api.city.region.code
    made = []
    with unit_of_work(api.app.state.engine) as session:
        for key, name, scope in (("sec", "安全管理员甲", "all"), ("secr", "区县安全管理员", "region"),
                                 ("target", "被管理人", None)):
            person = Person(employee_code=f"E-pa-{key}-{code}", username=f"pa_{key}_{code}", name=name)
            session.add(person)
            session.flush()
            if scope is not None:
                session.add(RoleGrant(person_id=person.id, role="security_admin", scope_kind=scope,
                                      scope_region_id=api.city.region.id if scope == "region" else None))
            else:
                session.add(Membership(person_id=person.id, unit_id=api.city.units["finance"].id))
            session.add(Credential(person_id=person.id, password_hash=hash_password(PASSWORD), must_change=False))
            made.append(person)
    yield People(*made)


def _token(client: TestClient, path: str) -> str:
    found = CSRF.search(client.get(path).text)
    assert found
    return found.group(1)


def _table(html: str) -> str:
    """The account rows of the list (the header also names the administrator logged in)."""
    return html.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in html else ""


def _grants(api: Api, person_id: int) -> set[tuple[str, str, int | None, int | None]]:
    with read_only(api.app.state.engine) as session:
        rows = session.scalars(select(RoleGrant).where(RoleGrant.person_id == person_id)).all()
        return {(g.role, g.scope_kind, g.scope_unit_id, g.scope_region_id) for g in rows}


def _actions(api: Api, person_id: int) -> list[str]:
    with read_only(api.app.state.engine) as session:
        return list(session.scalars(select(AuditRecord.action).where(
            AuditRecord.target_kind == "person", AuditRecord.target_id == str(person_id),
            AuditRecord.action.startswith("accounts.")).order_by(AuditRecord.id)))


def test_only_the_security_administrator_sees_and_opens_the_account_pages(api: Api, people: People) -> None:
    security = page_login(api, people.security, htmx=False)
    assert 'href="/admin/accounts"' in security.get("/workbench").text  # the 账号 navigation
    assert 'href="/admin/accounts"' in security.get("/admin").text
    for outsider in (api.root, api.admin, api.auditor, api.city.people["finance.clerk.0"]):
        client = page_login(api, outsider, htmx=False)
        assert 'href="/admin/accounts"' not in client.get("/workbench").text
        for path in ("/admin/accounts", f"/admin/accounts/{people.target.id}"):
            refused = client.get(path)
            assert refused.status_code == 403 and "只有安全管理员" in refused.text, (outsider.username, path)
        token = _token(client, "/workbench")
        grant = client.post(f"/admin/accounts/{people.target.id}/roles",
                            data={"csrf_token": token, "role": "supervisor", "scope_kind": "all"})
        assert grant.status_code == 403
    assert _grants(api, people.target.id) == set()


def test_the_account_list_shows_state_and_filters(api: Api, people: People) -> None:
    security = page_login(api, people.security, htmx=False)
    finance = api.city.units["finance"]
    page = security.get("/admin/accounts", params={"unit-unit": str(finance.id)}).text
    assert people.target.name in page and api.city.person("finance", "clerk").name in page
    assert api.city.person("office", "clerk").name not in page
    assert "最近登录" in page and "动态验证码" in page and "承办人（单位及下级" in page
    assert f'name="unit-unit" value="{finance.id}" checked' in page  # the unit picker keeps the filter
    handlers = _table(security.get("/admin/accounts", params={"role": "security_admin",
                                                              "q": api.city.region.code}).text)
    assert people.security.name in handlers and people.target.name not in handlers
    assert "安全管理员（全部）" in handlers
    row = handlers.split(f'href="/admin/accounts/{people.security.id}"')[1].split("</tr>")[0]
    last_login = r'<td data-label="最近登录">\d{4}-\d{2}-\d{2} \d{2}:\d{2}</td>'
    assert re.search(last_login, row)  # the log-in above, from the audit trail
    with unit_of_work(api.app.state.engine) as session:
        credential = session.get(Credential, people.target.id)
        assert credential is not None
        credential.locked_until = utcnow() + timedelta(minutes=30)
    try:
        locked = _table(security.get("/admin/accounts", params={"locked": "yes", "q": api.city.region.code}).text)
        assert people.target.name in locked and "已锁定至" in locked and people.security.name not in locked
        free = _table(security.get("/admin/accounts", params={"locked": "no", "q": api.city.region.code}).text)
        assert people.target.name not in free
    finally:
        with unit_of_work(api.app.state.engine) as session:
            credential = session.get(Credential, people.target.id)
            assert credential is not None
            credential.locked_until = None


def test_grant_and_revoke_a_role_with_its_scope(api: Api, people: People) -> None:
    security = page_login(api, people.security, htmx=False)
    target = people.target.id
    path = f"/admin/accounts/{target}"
    token = _token(security, path)
    finance = api.city.units["finance"]
    picked = security.post(f"{path}/roles", data={"csrf_token": token, "role": "supervisor", "find": "scope",
                                                  "scope_kind": "unit_subtree", "scope-q": finance.name})
    assert picked.status_code == 200 and f'name="scope-unit" value="{finance.id}"' in picked.text  # no JS: 查找
    granted = security.post(f"{path}/roles", follow_redirects=False, data={
        "csrf_token": token, "role": "supervisor", "scope_kind": "unit_subtree", "scope-unit": str(finance.id)})
    assert granted.status_code == 303 and "done=granted" in granted.headers["location"]
    region = security.post(f"{path}/roles", follow_redirects=False, data={
        "csrf_token": token, "role": "unit_leader", "scope_kind": "region", "region": str(api.city.region.id)})
    assert region.status_code == 303
    assert _grants(api, target) == {("supervisor", "unit_subtree", finance.id, None),
                                    ("unit_leader", "region", None, api.city.region.id)}
    page = security.get(granted.headers["location"]).text
    assert "已授予角色" in page and f"单位及下级：{finance.name}" in page and "撤销" in page
    missing = security.post(f"{path}/roles", data={"csrf_token": token, "role": "", "scope_kind": "unit_subtree"})
    assert missing.status_code == 422 and 'id="err-role"' in missing.text and 'id="err-scope"' in missing.text
    with read_only(api.app.state.engine) as session:
        grant_id = session.scalars(select(RoleGrant.id).where(RoleGrant.person_id == target,
                                                              RoleGrant.role == "supervisor")).one()
    revoked = security.post(f"{path}/grants/{grant_id}/revoke", data={"csrf_token": token}, follow_redirects=False)
    assert revoked.status_code == 303
    assert _grants(api, target) == {("unit_leader", "region", None, api.city.region.id)}
    gone = security.post(f"{path}/grants/{grant_id}/revoke", data={"csrf_token": token})
    assert gone.status_code == 404 and "没有这一角色授权" in gone.text
    assert _actions(api, target)[-3:] == ["accounts.role_granted", "accounts.role_granted", "accounts.role_revoked"]
    with unit_of_work(api.app.state.engine) as session:
        session.execute(delete(RoleGrant).where(RoleGrant.person_id == target))


def test_the_services_refusals_are_shown_in_chinese(api: Api, people: People) -> None:
    security = page_login(api, people.security, htmx=False)
    own = f"/admin/accounts/{people.security.id}"
    mine = security.get(own).text
    assert "不能给自己授权" in mine and 'id="grant-form"' not in mine and 'id="reset-password"' not in mine
    token = _token(security, own)
    self_grant = security.post(f"{own}/roles", data={"csrf_token": token, "role": "audit_admin", "scope_kind": "all"})
    assert self_grant.status_code == 403 and 'id="account-refusal"' in self_grant.text
    assert "不能给自己授予" in self_grant.text
    self_reset = security.post(f"{own}/password", data={"csrf_token": token})
    assert self_reset.status_code == 403 and "不能为自己" in self_reset.text
    twice = security.post(f"/admin/accounts/{api.root.id}/roles",
                          data={"csrf_token": token, "role": "audit_admin", "scope_kind": "all"})
    assert twice.status_code == 409 and "三员分立" in twice.text and 'id="err-role"' in twice.text
    regional = page_login(api, people.regional, htmx=False)
    token = _token(regional, f"/admin/accounts/{people.target.id}")
    beyond = regional.post(f"/admin/accounts/{people.target.id}/roles",
                           data={"csrf_token": token, "role": "supervisor", "scope_kind": "all"})
    assert beyond.status_code == 403 and "只有授权范围覆盖" in beyond.text
    other_unit = api.other.units["finance"]
    assert f'value="{other_unit.id}"' not in regional.get(
        "/admin/units/picker", params={"field": "scope", "area": "accounts", "scope-q": "财政"}).text
    assert _grants(api, people.target.id) == set() and _grants(api, people.security.id) == {
        ("security_admin", "all", None, None)}


def test_unlock_and_reset_a_password(api: Api, people: People) -> None:
    security = page_login(api, people.security, htmx=False)
    path = f"/admin/accounts/{people.target.id}"
    with unit_of_work(api.app.state.engine) as session:
        credential = session.get(Credential, people.target.id)
        assert credential is not None
        credential.locked_until = utcnow() + timedelta(minutes=30)
    page = security.get(path).text
    assert "已锁定至" in page and 'id="unlock"' in page
    token = _token(security, path)
    unlocked = security.post(f"{path}/unlock", data={"csrf_token": token}, follow_redirects=False)
    assert unlocked.status_code == 303 and "已解除锁定" in security.get(unlocked.headers["location"]).text
    with read_only(api.app.state.engine) as session:
        assert session.get(Credential, people.target.id).locked_until is None  # type: ignore[union-attr]
    target_client = page_login(api, people.target, htmx=False)
    reset = security.post(f"{path}/password", data={"csrf_token": token})
    assert reset.status_code == 200 and reset.headers["cache-control"] == "no-store"
    found = re.search(r'<code id="initial-password">([^<]+)</code>', reset.text)
    assert found
    with read_only(api.app.state.engine) as session:
        assert session.get(Credential, people.target.id).must_change  # type: ignore[union-attr]
        assert not session.scalars(select(WebSession).where(WebSession.person_id == people.target.id)).all()
    assert target_client.get("/workbench", follow_redirects=False).status_code == 303  # its session ended
    fresh = api.client()
    login = fresh.post("/login", data={"username": people.target.username, "password": found.group(1).replace(
        "&amp;", "&")}, follow_redirects=False)
    assert login.status_code == 303
    with read_only(api.app.state.engine) as session:  # the new session may only change the password (outside demo)
        assert [s.must_change for s in session.scalars(
            select(WebSession).where(WebSession.person_id == people.target.id))] == [True]
    assert security.get(path).text.count(found.group(1)) == 0  # shown once only
    assert _actions(api, people.target.id)[-2:] == ["accounts.unlocked", "accounts.password_reset"]
    with unit_of_work(api.app.state.engine) as session:
        credential = session.get(Credential, people.target.id)
        assert credential is not None
        credential.password_hash, credential.must_change = hash_password(PASSWORD), False


def test_account_forms_need_the_csrf_token(api: Api, people: People) -> None:
    security = page_login(api, people.security, htmx=False)
    path = f"/admin/accounts/{people.target.id}"
    for action, data in (("roles", {"role": "supervisor", "scope_kind": "all"}), ("unlock", {}), ("password", {})):
        assert security.post(f"{path}/{action}", data=data).status_code == 403, action
    assert _grants(api, people.target.id) == set()


def test_the_account_list_keeps_to_the_administrators_scope_takes_subtrees_and_pages(api: Api,
                                                                                     people: People) -> None:
    finance = api.city.units["finance"]
    with unit_of_work(api.app.state.engine) as session:
        child = Unit(code=f"{finance.code}.sub", name="预算分科", region_id=finance.region_id, parent_id=finance.id)
        session.add(child)
        session.flush()
        child.path = f"{finance.path}{child.id}/"
        below = Person(employee_code=f"E-below-{child.id}", username=f"below_{child.id}", name="下级科室人员")
        scoped = Person(employee_code=f"E-secu-{child.id}", username=f"secu_{child.id}", name="科室安全管理员")
        session.add_all([below, scoped])
        session.flush()
        session.add_all([Membership(person_id=below.id, unit_id=child.id),
                         RoleGrant(person_id=scoped.id, role="security_admin", scope_kind="unit_subtree",
                                   scope_unit_id=finance.id),
                         Credential(person_id=scoped.id, password_hash=hash_password(PASSWORD), must_change=False)])
        session.flush()
        session.expunge_all()
    everyone = page_login(api, people.security, htmx=False)
    by_unit = _table(everyone.get("/admin/accounts", params={"unit-unit": str(finance.id)}).text)
    assert below.username in by_unit and people.target.username in by_unit  # the subtree, not only direct members

    other = api.other.person("finance", "clerk")
    regional = _table(page_login(api, people.regional, htmx=False).get("/admin/accounts").text)
    assert api.city.person("office", "clerk").username in regional and other.username not in regional
    assert other.username in _table(everyone.get("/admin/accounts", params={"q": other.username}).text)

    client = api.login(scoped)
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/accounts", params=params).json()
        assert len(page["items"]) <= 2
        seen += [a["person_id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    whole = {a["person_id"] for a in client.get("/api/v1/accounts", params={"limit": 200}).json()["items"]}
    assert len(seen) == len(set(seen)) and set(seen) == whole
    assert {below.id, people.target.id} <= whole  # finance and the unit below it
    assert api.city.person("office", "clerk").id not in whole and scoped.id not in whole  # no membership in scope
    assert client.get("/api/v1/accounts", params={"cursor": "坏"}).status_code == 422
