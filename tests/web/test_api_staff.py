"""人员交接 over HTTP: the preview, the hand-over with its per-item log, and who may do it."""

from __future__ import annotations

from tests.web.conftest import Api, submit
from tests.web.test_api_cases import _task


def test_handover_preview_and_execution_over_http(api: Api) -> None:
    applicant = api.login("finance.clerk.0")
    case_id = submit(applicant, api)["id"]
    leaving = api.login("staffing.clerk.0")
    leaving.post(f"/api/v1/cases/{case_id}/accept")
    task = _task(leaving, case_id)
    assert leaving.post(f"/api/v1/tasks/{task['id']}/claim").status_code == 204
    person_id = api.city.person("staffing", "clerk", 0).id
    successor_id = api.city.person("staffing", "clerk", 1).id

    refused = leaving.get(f"/api/v1/people/{person_id}/handover", params={"to": successor_id})
    assert refused.status_code == 403 and refused.json()["code"] == "not_allowed"
    admin = api.login(api.admin)
    preview = admin.get(f"/api/v1/people/{person_id}/handover", params={"to": successor_id})
    assert preview.status_code == 200, preview.text
    assert [(i["kind"], i["id"], i["moves"]) for i in preview.json()] == [("task", task["id"], True)]
    done = admin.post(f"/api/v1/people/{person_id}/handover", json={"to_person_id": successor_id, "note": "调岗"})
    assert done.status_code == 200, done.text
    [item] = done.json()
    successor = api.login("staffing.clerk.1")
    assert _task(successor, case_id)["id"] == item["new_id"]
    trail = api.login(api.auditor).get("/api/v1/audit", params={"action": "directory.person_handed_over"}).json()
    assert any(r["target_id"] == str(person_id) for r in trail["items"])
