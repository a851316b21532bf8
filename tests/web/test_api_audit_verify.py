"""GET /api/v1/audit/verify: the audit administrator alone sees both chains verified."""

from __future__ import annotations

from tests.web.conftest import Api


def test_only_the_auditor_verifies_and_sees_both_chains_intact(api: Api) -> None:
    admin = api.login(api.admin)
    admin.patch(f"/api/v1/directory/units/{api.city.units['finance'].id}", json={"short_name": "财政"})
    for outsider in (admin, api.login(api.root)):
        refused = outsider.get("/api/v1/audit/verify")
        assert refused.status_code == 403 and refused.json()["code"] == "not_auditor"
    chains = api.login(api.auditor).get("/api/v1/audit/verify")
    assert chains.status_code == 200, chains.text
    by_name = {c["chain"]: c for c in chains.json()}
    assert set(by_name) == {"audit", "event"}
    assert by_name["audit"]["ok"] and by_name["audit"]["first_break"] is None
    assert by_name["audit"]["checked"] == by_name["audit"]["head_seq"] >= 2
    assert by_name["event"]["ok"]
