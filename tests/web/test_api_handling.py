"""Handling operations over HTTP: return with its preview, 补正 and resubmission, suspend/resume, transfer."""

from __future__ import annotations

from tests.web.conftest import Api, submit
from tests.web.test_api_cases import _task, _todo


def test_return_preview_return_to_the_applicant_and_resubmit_over_http(api: Api) -> None:
    applicant = api.login("finance.clerk.0")
    case_id = submit(applicant, api, title="申请增加编制")["id"]
    handler = api.login("staffing.clerk.0")
    handler.post(f"/api/v1/cases/{case_id}/accept")
    accept = _task(handler, case_id)
    assert handler.post(f"/api/v1/tasks/{accept['id']}/complete", json={"decision": "approve"}).status_code == 200
    reviewer = api.login("finance.section_chief.0")
    review = _task(reviewer, case_id)
    preview = reviewer.get(f"/api/v1/tasks/{review['id']}/return-targets").json()
    [target] = preview["targets"]
    assert target["node"] == "accept" and len(target["cancels"]) == 2  # the two other reviews
    refused = reviewer.post(f"/api/v1/tasks/{review['id']}/return", json={"target": "approve", "reason": "x"})
    assert refused.status_code == 409 and refused.json()["code"] == "bad_return_target"
    back = reviewer.post(f"/api/v1/tasks/{review['id']}/return",
                         json={"target": "applicant", "reason": "请补充编制测算表", "resume_mode": "direct"})
    assert back.status_code == 200, back.text
    detail = applicant.get(f"/api/v1/cases/{case_id}").json()
    assert detail["case"]["status"] == "supplementing" and "resubmit" in detail["actions"]
    again = applicant.post(f"/api/v1/cases/{case_id}/resubmit", json={"form": {"title": "申请增加编制（补充测算）"}})
    assert again.status_code == 200 and len(again.json()["task_ids"]) == 1
    assert _task(reviewer, case_id)["name"] == review["name"]  # straight back to the returning reviewer
    types = [e["type"] for e in handler.get(f"/api/v1/cases/{case_id}/events").json()["items"]]
    assert types[-2:] == ["case.returned_to_applicant", "case.resubmitted"]


def test_supplement_suspend_resume_and_transfer_over_http(api: Api) -> None:
    applicant = api.login("finance.clerk.0")
    case_id = submit(applicant, api)["id"]
    handler = api.login("staffing.clerk.0")
    asked = handler.post(f"/api/v1/cases/{case_id}/supplement", json={"items": [{"note": "缺少编制核定表"}]})
    assert asked.status_code == 201, asked.text
    assert handler.post(f"/api/v1/cases/{case_id}/accept").json()["code"] == "wrong_case_status"
    empty = applicant.post(f"/api/v1/cases/{case_id}/resubmit", json={})
    assert empty.status_code == 422 and empty.json()["code"] == "nothing_changed"
    assert applicant.post(f"/api/v1/cases/{case_id}/resubmit", json={"form": {"title": "补充后的申请"}}).status_code \
        == 200
    assert handler.get(f"/api/v1/cases/{case_id}").json()["case"]["status"] == "submitted"
    handler.post(f"/api/v1/cases/{case_id}/accept")
    assert handler.post(f"/api/v1/cases/{case_id}/suspend", json={"reason": "等待批复"}).status_code == 204
    assert handler.post(f"/api/v1/cases/{case_id}/suspend", json={"reason": "again"}).status_code == 409
    assert handler.post(f"/api/v1/cases/{case_id}/resume", json={}).status_code == 204
    task = _task(handler, case_id)
    colleague = api.login("staffing.clerk.1")
    colleague_id = api.city.person("staffing", "clerk", 1).id
    moved = handler.post(f"/api/v1/tasks/{task['id']}/transfer", json={"to_person_id": colleague_id})
    assert moved.status_code == 200, moved.text
    assert [t["id"] for t in _todo(colleague) if t["case_id"] == case_id] == moved.json()["task_ids"]


def test_special_procedure_and_extension_over_http(api: Api) -> None:
    applicant = api.login("finance.clerk.0")
    case_id = submit(applicant, api)["id"]
    handler = api.login("staffing.clerk.0")
    handler.post(f"/api/v1/cases/{case_id}/accept")
    assert "start_special_procedure" in handler.get(f"/api/v1/cases/{case_id}").json()["actions"]
    bad = handler.post(f"/api/v1/cases/{case_id}/special-procedures",
                       json={"kind": "lottery", "reason": "需要", "basis": "第四十五条"})
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_special_kind"
    assert bad.headers["content-type"].startswith("application/problem+json")
    started = handler.post(f"/api/v1/cases/{case_id}/special-procedures",
                           json={"kind": "hearing", "reason": "涉及重大公共利益", "basis": "行政许可法第四十六条"})
    assert started.status_code == 201, started.text
    detail = handler.get(f"/api/v1/cases/{case_id}").json()
    assert detail["case"]["status"] == "special_procedure" and "end_special_procedure" in detail["actions"]
    ended = handler.post(f"/api/v1/cases/{case_id}/special-procedures/end", json={"outcome": "听证完毕"})
    assert ended.status_code == 200 and ended.json()["working_days"] >= 0

    refused = handler.post(f"/api/v1/cases/{case_id}/extension", json={"days": 5, "reason": "情况复杂"})
    assert refused.status_code == 403 and refused.json()["code"] == "not_allowed"
    leader = api.login("staffing.leader_in_charge.0")
    due = leader.get(f"/api/v1/cases/{case_id}").json()["case"]["due_at"]
    extended = leader.post(f"/api/v1/cases/{case_id}/extension", json={"days": 10, "reason": "需要补充调查"})
    assert extended.status_code == 200, extended.text
    assert extended.json()["due_at"] > due
    again = leader.post(f"/api/v1/cases/{case_id}/extension", json={"days": 1, "reason": "再延"})
    assert again.status_code == 409 and again.json()["code"] == "already_extended"
    types = [e["type"] for e in handler.get(f"/api/v1/cases/{case_id}/events").json()["items"]]
    assert types[-3:] == ["case.special_procedure_started", "case.special_procedure_ended", "case.extended"]


def test_release_and_batch_approval_over_http(api: Api) -> None:
    applicant = api.login("finance.clerk.0")
    case_ids = [submit(applicant, api, title=f"批量申请{i}")["id"] for i in range(3)]
    handler = api.login("staffing.clerk.0")
    for case_id in case_ids:
        assert handler.post(f"/api/v1/cases/{case_id}/accept").status_code == 200
    tasks = [_task(handler, case_id)["id"] for case_id in case_ids]
    assert handler.post(f"/api/v1/tasks/{tasks[0]}/claim").status_code == 204
    assert handler.post(f"/api/v1/tasks/{tasks[0]}/release").status_code == 204
    colleague = api.login("staffing.clerk.1")
    assert colleague.post(f"/api/v1/tasks/{tasks[0]}/release").json()["code"] == "not_your_task"
    assert colleague.post(f"/api/v1/tasks/{tasks[1]}/complete", json={"decision": "approve"}).status_code == 200

    batch = handler.post("/api/v1/tasks/batch-complete",
                         json={"task_ids": tasks, "decision": "approve", "opinion": "同意"})
    assert batch.status_code == 200, batch.text
    body = batch.json()
    assert (body["succeeded"], body["failed"]) == (2, 1)
    assert [(r["task_id"], r["ok"], r["code"]) for r in body["results"]] == [
        (tasks[0], True, None), (tasks[1], False, "task_closed"), (tasks[2], True, None)
    ]
    empty = handler.post("/api/v1/tasks/batch-complete", json={"task_ids": [], "decision": "approve"})
    assert empty.status_code == 422


def test_delegation_over_http(api: Api) -> None:
    applicant = api.login("finance.clerk.0")
    case_id = submit(applicant, api)["id"]
    holder = api.login("staffing.clerk.0")
    holder.post(f"/api/v1/cases/{case_id}/accept")
    task = _task(holder, case_id)
    holder.post(f"/api/v1/tasks/{task['id']}/claim")
    colleague_id = api.city.person("staffing", "clerk", 1).id
    lent = holder.post(f"/api/v1/tasks/{task['id']}/delegate", json={"to_person_id": colleague_id, "note": "请核对"})
    assert lent.status_code == 204, lent.text
    refused = holder.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert refused.status_code == 409 and refused.json()["code"] == "task_delegated"
    colleague = api.login("staffing.clerk.1")
    assert colleague.get(f"/api/v1/cases/{case_id}").json()["task_actions"] == {str(task["id"]): ["hand_back"]}
    assert colleague.post(f"/api/v1/tasks/{task['id']}/hand-back", json={"opinion": "核对无误"}).status_code == 204
    assert holder.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve"}).status_code == 200
