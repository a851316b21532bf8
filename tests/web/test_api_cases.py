"""Cases over HTTP: the whole joint-approval path, lists, search, permissions and concurrent clicks."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient

from tests.web.conftest import Api, submit


def _todo(client: TestClient) -> list[dict]:
    response = client.get("/api/v1/tasks/todo", params={"limit": 200})
    assert response.status_code == 200
    return response.json()["items"]


def _task(client: TestClient, case_id: int) -> dict:
    (task,) = [t for t in _todo(client) if t["case_id"] == case_id]
    return task


def test_a_case_travels_the_joint_approval_process_over_http(api: Api) -> None:
    applicant = api.login("finance.clerk.0")
    created = submit(applicant, api, title="申请增加2名编制")
    case_id = created["id"]
    assert str(created["number"]).startswith("XT")

    handler = api.login("staffing.clerk.0")
    detail = handler.get(f"/api/v1/cases/{case_id}").json()
    assert detail["case"]["status"] == "submitted" and set(detail["actions"]) >= {"accept", "reject"}
    assert applicant.get(f"/api/v1/cases/{case_id}").json()["actions"] == ["withdraw"]

    assert handler.post(f"/api/v1/cases/{case_id}/accept").status_code == 200
    task = _task(handler, case_id)
    assert task["shared"] and task["name"] == "受理审查" and task["card"] in {"none", "yellow"}
    assert handler.post(f"/api/v1/tasks/{task['id']}/claim").status_code == 204
    colleague = api.login("staffing.clerk.1")
    assert [t for t in _todo(colleague) if t["case_id"] == case_id] == []  # claimed: gone from the post's list
    assert handler.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve"}).status_code == 200

    for function in ("finance", "hr_social", "big_data"):
        reviewer = api.login(f"{function}.section_chief.0")
        review = _task(reviewer, case_id)
        response = reviewer.post(f"/api/v1/tasks/{review['id']}/complete",
                                 json={"decision": "approve", "opinion": "同意"})
        assert response.status_code == 200, response.text
    leader = api.login("staffing.leader_in_charge.1")
    final = _task(leader, case_id)
    assert leader.post(f"/api/v1/tasks/{final['id']}/complete", json={"decision": "approve"}).json() == {
        "task_ids": []
    }

    assert handler.get(f"/api/v1/cases/{case_id}").json()["actions"] == ["suspend", "conclude"]
    concluded = handler.post(f"/api/v1/cases/{case_id}/conclude", json={"result": "granted", "note": "准予"})
    assert concluded.status_code == 204
    assert handler.post(f"/api/v1/cases/{case_id}/archive").status_code == 204

    events = handler.get(f"/api/v1/cases/{case_id}/events").json()["items"]
    types = [e["type"] for e in events]
    assert types[0] == "case.submitted" and types[-2:] == ["case.concluded", "case.archived"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert {e["actor_name"] for e in events if e["type"] == "task.completed"} >= {"编办分管领导1"}
    done = leader.get("/api/v1/tasks/done").json()["items"]
    assert any(t["case_id"] == case_id and t["outcome"] == "approve" for t in done)


def test_people_of_another_region_cannot_see_or_touch_the_case(api: Api) -> None:
    case_id = submit(api.login("finance.clerk.0"), api)["id"]
    stranger = api.login(api.other.person("staffing", "clerk"))
    response = stranger.get(f"/api/v1/cases/{case_id}")
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"
    assert stranger.post(f"/api/v1/cases/{case_id}/accept").status_code == 404  # as for a missing case
    found = stranger.get("/api/v1/cases", params={"keyword": "申请", "region_id": api.city.region.id}).json()
    assert found["items"] == []
    # The applicant's own unit colleague sees it; a unit that takes no part does not.
    assert api.login("finance.section_chief.0").get(f"/api/v1/cases/{case_id}").status_code == 200
    assert api.login("office.clerk.0").get(f"/api/v1/cases/{case_id}").status_code == 404
    assert api.login(api.reform).get(f"/api/v1/cases/{case_id}").status_code == 200


def test_illegal_operations_are_refused_and_change_nothing(api: Api) -> None:
    applicant = api.login("finance.clerk.0")
    case_id = submit(applicant, api)["id"]
    before = applicant.get(f"/api/v1/cases/{case_id}/events").json()["items"]
    refused = applicant.post(f"/api/v1/cases/{case_id}/accept")
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    handler = api.login("staffing.clerk.0")
    missing_reason = handler.post(f"/api/v1/cases/{case_id}/reject", json={"reason": ""})
    assert missing_reason.status_code == 422 and missing_reason.json()["errors"][0]["field"] == "body.reason"
    assert handler.post(f"/api/v1/cases/{case_id}/conclude", json={"result": "granted"}).status_code == 409
    assert handler.post(f"/api/v1/cases/{case_id}/conclude", json={"result": "maybe"}).status_code == 422
    assert applicant.get(f"/api/v1/cases/{case_id}/events").json()["items"] == before
    assert handler.post(f"/api/v1/cases/{case_id}/reject", json={"reason": "材料不属于本单位职责"}).status_code == 204
    again = handler.post(f"/api/v1/cases/{case_id}/accept")
    assert again.status_code == 409 and "不予受理" in again.json()["detail"]


def test_submit_reports_every_form_problem_in_chinese(api: Api) -> None:
    applicant = api.login("finance.clerk.0")
    body = {"local_matter_id": api.matter_id, "applicant_unit_id": api.city.units["finance"].id,
            "form": {"title": "x", "amount": -1, "unknown": 1}}
    response = applicant.post("/api/v1/cases", json=body)
    assert response.status_code == 422
    problem = response.json()
    fields = {e["field"] for e in problem["errors"]}
    assert {"title", "amount"} <= fields and problem["title"] and problem["detail"]
    wrong_unit = applicant.post("/api/v1/cases", json={**body, "applicant_unit_id": api.city.units["office"].id})
    assert wrong_unit.status_code == 403
    unknown = applicant.post("/api/v1/cases", json={**body, "local_matter_id": 10**9, "form": {"title": "申请"}})
    assert unknown.status_code in (404, 422)


def test_two_people_completing_one_shared_task_at_once_one_wins(api: Api) -> None:
    case_id = submit(api.login("finance.clerk.0"), api)["id"]
    first, second = api.login("staffing.clerk.0"), api.login("staffing.clerk.1")
    first.post(f"/api/v1/cases/{case_id}/accept")
    task_id = _task(first, case_id)["id"]
    barrier, statuses = threading.Barrier(2), []

    def click(client: TestClient) -> None:
        barrier.wait()
        statuses.append(client.post(f"/api/v1/tasks/{task_id}/complete", json={"decision": "approve"}).status_code)

    threads = [threading.Thread(target=click, args=(c,)) for c in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 409]
    events = first.get(f"/api/v1/cases/{case_id}/events").json()["items"]
    assert [e["type"] for e in events].count("task.completed") == 1
    reviews = [t for t in _todo(api.login("finance.section_chief.0")) if t["case_id"] == case_id]
    assert len(reviews) == 1  # the case advanced exactly once


def test_search_pages_with_cursors_and_filters(api: Api) -> None:
    applicant = api.login("hr_social.clerk.0")
    numbers = [submit(applicant, api, title=f"分页测试{i}", unit="hr_social")["number"] for i in range(5)]
    params = {"keyword": "分页测试", "applicant_unit_id": api.city.units["hr_social"].id, "limit": 2}
    seen, cursor, pages = [], None, 0
    while True:
        page = applicant.get("/api/v1/cases", params={**params, **({"cursor": cursor} if cursor else {})}).json()
        seen += [c["number"] for c in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(numbers)) and pages == 3
    total = applicant.get("/api/v1/cases", params={**params, "with_total": "true"}).json()["total"]
    assert total == 5
    by_number = applicant.get("/api/v1/cases", params={"keyword": numbers[2][-8:]}).json()["items"]
    assert [c["number"] for c in by_number] == [numbers[2]]
    status = applicant.get("/api/v1/cases", params={**params, "status": ["concluded"]}).json()
    assert status["items"] == []
    bad = applicant.get("/api/v1/cases", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["code"] == "bad_cursor"
    assert applicant.get("/api/v1/cases", params={"status": ["nonsense"]}).json()["code"] == "bad_status"


def test_todo_pages_with_cursors_in_the_same_order_as_one_page(api: Api) -> None:
    handler = api.login("staffing.clerk.1")
    for i in range(3):
        case_id = submit(api.login("office.clerk.0"), api, title=f"待办分页{i}", unit="office")["id"]
        assert handler.post(f"/api/v1/cases/{case_id}/accept").status_code == 200
    everything = handler.get("/api/v1/tasks/todo", params={"limit": 200, "with_total": "true"}).json()
    assert everything["total"] == len(everything["items"]) >= 3
    paged, cursor = [], None
    while True:
        page = handler.get("/api/v1/tasks/todo", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        paged += [t["id"] for t in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert paged == [t["id"] for t in everything["items"]]
