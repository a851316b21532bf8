"""人员交接 and 版本迁移 over HTTP: previews, the operations with their per-item logs, and who may do them."""

from __future__ import annotations

from sqlalchemy import select

from tests.factories import TEXT_FORM, joint_approval_process
from tests.web.conftest import Api, submit
from tests.web.test_api_cases import _task
from xietong.catalog import service as catalog
from xietong.catalog.models import LocalMatter, MatterVersion
from xietong.db.session import unit_of_work


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


def test_version_migration_over_http(api: Api) -> None:
    applicant = api.login("finance.clerk.0")
    handler = api.login("staffing.clerk.0")
    case_id = submit(applicant, api)["id"]
    handler.post(f"/api/v1/cases/{case_id}/accept")
    with unit_of_work(api.app.state.engine) as session:
        local = session.get(LocalMatter, api.matter_id)
        assert local is not None
        old = session.scalar(select(MatterVersion.id).where(MatterVersion.local_matter_id == local.id,
                                                           MatterVersion.status == "published"))
        draft = catalog.draft_version(session, local=local, form_schema=TEXT_FORM, materials=[],
                                      process=joint_approval_process(), promised_limit_days=5)
        catalog.publish_version(session, version_id=draft.id)
        new = draft.id
    assert handler.get(f"/api/v1/matters/{api.matter_id}/migration",
                       params={"from_version_id": old, "to_version_id": new}).status_code == 403
    reform = api.login(api.reform)
    plan = reform.get(f"/api/v1/matters/{api.matter_id}/migration", params={"from_version_id": old,
                                                                           "to_version_id": new}).json()
    assert any(p["case_id"] == case_id and p["mappable"] for p in plan)
    moved = reform.post(f"/api/v1/matters/{api.matter_id}/migration",
                        json={"from_version_id": old, "to_version_id": new, "reason": "修正", "case_ids": [case_id]})
    assert moved.status_code == 200 and moved.json() == [
        {"case_id": case_id, "number": moved.json()[0]["number"], "migrated": True, "problems": []}]
    back = reform.post(f"/api/v1/matters/{api.matter_id}/migration/revert",
                       json={"from_version_id": old, "to_version_id": new, "reason": "撤销"})
    assert [(o["case_id"], o["migrated"]) for o in back.json()] == [(case_id, True)]
    trail = api.login(api.auditor).get("/api/v1/audit", params={"action": "catalog.cases_migrated"}).json()
    assert trail["items"]
