"""The audit trail: administrative actions and log-ins are recorded with who did them; only auditors read it."""

from __future__ import annotations

from tests.web.conftest import Api


def test_admin_actions_and_logins_are_recorded_and_only_the_auditor_reads_them(api: Api) -> None:
    admin = api.login(api.admin)
    region = api.city.region
    unit = admin.post("/api/v1/directory/units", json={
        "code": f"{region.code}.audit", "name": "审计测试科", "region_code": region.code}).json()
    admin.patch(f"/api/v1/directory/units/{unit['id']}", json={"short_name": "审计科"})
    api.client().post("/api/v1/auth/login", json={"username": api.admin.username, "password": "wrong"})

    for outsider in (admin, api.login(api.root), api.login("office.clerk.0")):
        refused = outsider.get("/api/v1/audit")
        assert refused.status_code == 403 and refused.json()["code"] == "not_auditor"

    auditor = api.login(api.auditor)
    trail = auditor.get("/api/v1/audit", params={"action": "directory.unit_", "limit": 200}).json()["items"]
    ours = [r for r in trail if r["target_id"] == str(unit["id"])]
    assert [(r["action"], r["actor_id"]) for r in ours] == [
        ("directory.unit_created", api.admin.id), ("directory.unit_updated", api.admin.id)]
    assert ours[1]["detail"]["changes"] == {"short_name": "审计科"} and ours[0]["client_ip"]
    logins = auditor.get("/api/v1/audit", params={"action": "auth.login", "limit": 200}).json()["items"]
    refused_logins = [r for r in logins if r["actor_id"] == api.admin.id and "refused" in r["action"]]
    assert refused_logins and refused_logins[-1]["action"] == "auth.login_refused.bad_credentials"


def test_a_refused_change_leaves_no_audit_record(api: Api) -> None:
    admin = api.login(api.admin)
    body = {"code": f"{api.city.region.code}.dup", "name": "重复", "region_code": api.city.region.code}
    assert admin.post("/api/v1/directory/units", json=body).status_code == 201
    assert admin.post("/api/v1/directory/units", json=body).status_code == 409
    trail = api.login(api.auditor).get("/api/v1/audit", params={"action": "directory.unit_created", "limit": 200})
    created = [r for r in trail.json()["items"] if r["detail"]["data"]["code"] == body["code"]]
    assert len(created) == 1
