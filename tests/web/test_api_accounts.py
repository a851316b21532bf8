"""/api/v1/accounts over HTTP: the security administrator grants roles under 三员分立; others may not."""

from __future__ import annotations

import pytest

from tests.web.conftest import PASSWORD, Api
from xietong.db.session import unit_of_work
from xietong.directory.models import Person
from xietong.security.models import Credential, RoleGrant
from xietong.security.passwords import hash_password


@pytest.fixture(scope="module")
def security_admin(api: Api) -> Person:
    """A security administrator over everything (the shared city has none)."""
    code = api.city.region.code
    with unit_of_work(api.app.state.engine) as session:
        person = Person(employee_code=f"E-sec-{code}", username=f"sec_{code}", name="安全管理员")
        session.add(person)
        session.flush()
        session.add(RoleGrant(person_id=person.id, role="security_admin", scope_kind="all"))
        session.add(Credential(person_id=person.id, password_hash=hash_password(PASSWORD), must_change=False))
    return person


def test_grants_go_through_the_security_admin_and_are_audited(api: Api, security_admin: Person) -> None:
    security = api.login(security_admin)
    target = api.city.people["finance.clerk.1"]
    granted = security.post(f"/api/v1/accounts/{target.id}/roles", json={"role": "supervisor", "scope_kind": "all"})
    assert granted.status_code == 201, granted.text
    assert granted.json()["role"] == "supervisor" and granted.json()["scope_label"] == "全部"
    listed = security.get("/api/v1/accounts", params={"role": "supervisor"}).json()["items"]
    assert target.id in {a["person_id"] for a in listed}
    assert security.delete(f"/api/v1/accounts/{target.id}/roles/supervisor").status_code == 204
    trail = api.login(api.auditor).get("/api/v1/audit", params={"action": "accounts.", "limit": 200}).json()["items"]
    assert [r["action"] for r in trail if r["target_id"] == str(target.id)][-2:] == [
        "accounts.role_granted", "accounts.role_revoked"]


def test_separation_of_duties_over_http(api: Api, security_admin: Person) -> None:
    security = api.login(security_admin)
    me = security.get("/api/v1/auth/me").json()["person_id"]
    own = security.post(f"/api/v1/accounts/{me}/roles", json={"role": "audit_admin", "scope_kind": "all"})
    assert own.status_code == 403 and own.json()["code"] == "self_grant"
    twice = security.post(f"/api/v1/accounts/{api.root.id}/roles", json={"role": "audit_admin", "scope_kind": "all"})
    assert twice.status_code == 409 and twice.json()["code"] == "separation_of_duties"
    for outsider in (api.login(api.root), api.login(api.auditor)):
        refused = outsider.post(f"/api/v1/accounts/{api.city.people['finance.clerk.0'].id}/roles",
                                json={"role": "supervisor", "scope_kind": "all"})
        assert refused.status_code == 403 and refused.json()["code"] == "not_security_admin"
        assert outsider.get("/api/v1/accounts").status_code == 403
