"""Oversight over HTTP: 催办, 抄送 with read receipts, 督办, 评价 with 整改, and 常用意见 — as the people would."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.conftest import Api, submit


def _accepted(api: Api, title: str) -> int:
    case_id = int(submit(api.login("finance.clerk.0"), api, title=title)["id"])  # type: ignore[call-overload]
    assert api.login("staffing.clerk.0").post(f"/api/v1/cases/{case_id}/accept").status_code == 200
    return case_id


def _problem(response, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def _decide_all(api: Api, case_id: int) -> None:
    """Run the joint approval to its end, each step by a holder of its post."""
    holders = ["staffing.clerk.0", "finance.section_chief.0", "hr_social.section_chief.0", "big_data.section_chief.0",
               "staffing.leader_in_charge.0"]
    for key in holders:
        client = api.login(key)
        todo = client.get("/api/v1/tasks/todo", params={"limit": 200}).json()["items"]
        for task in (t for t in todo if t["case_id"] == case_id):
            assert client.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve"}).status_code == 200


def test_urge_once_an_hour_and_count(api: Api) -> None:
    case_id = _accepted(api, "催办测试")
    applicant = api.login("finance.clerk.0")
    created = applicant.post(f"/api/v1/cases/{case_id}/urge", json={"note": "请尽快"})
    assert created.status_code == 201 and created.json()["id"] > 0
    again = applicant.post(f"/api/v1/cases/{case_id}/urge", json={})
    _problem(again, 409, "urged_recently")
    assert "分钟后再催" in again.json()["detail"] and again.json()["retry_after_minutes"] >= 59
    _problem(api.login("staffing.clerk.1").post(f"/api/v1/cases/{case_id}/urge", json={}), 403, "not_allowed")
    counts = applicant.get(f"/api/v1/cases/{case_id}/urges").json()
    assert counts["total"] == 1 and list(counts["by_task"].values()) == [1]
    events = applicant.get(f"/api/v1/cases/{case_id}/events").json()["items"]
    assert events[-1]["type"] == "case.urged"


def test_copy_read_receipt_and_copied_to_me(api: Api) -> None:
    case_id = _accepted(api, "抄送测试")
    reader_person = api.city.person("office", "head")
    reader = api.login("office.head.0")
    _problem(reader.get(f"/api/v1/cases/{case_id}"), 404, "case_not_found")
    copier = api.login("staffing.clerk.0")
    response = copier.post(f"/api/v1/cases/{case_id}/copies", json={"person_ids": [reader_person.id]})
    assert response.status_code == 201 and response.json() == {"person_ids": [reader_person.id]}
    _problem(copier.post(f"/api/v1/cases/{case_id}/copies", json={"person_ids": [reader_person.id]}), 409,
             "already_copied")
    unread = reader.get("/api/v1/copies/mine", params={"unread": "true"}).json()["items"]
    assert [i["case_id"] for i in unread] == [case_id]
    [before] = copier.get(f"/api/v1/cases/{case_id}/copies").json()["items"]
    assert before["read_at"] is None
    detail = reader.get(f"/api/v1/cases/{case_id}")
    assert detail.status_code == 200 and detail.json()["actions"] == []
    [after] = copier.get(f"/api/v1/cases/{case_id}/copies").json()["items"]
    assert after["person_id"] == reader_person.id and after["read_at"] is not None
    assert [i["case_id"] for i in reader.get("/api/v1/copies/mine", params={"unread": "false"}).json()["items"]] == [
        case_id]
    assert reader.get("/api/v1/copies/mine", params={"unread": "true"}).json()["items"] == []
    _problem(reader.post(f"/api/v1/cases/{case_id}/urge", json={}), 403, "not_allowed")  # reads, does not act
    applicant = api.login("finance.clerk.0")  # the applicant reads the case but is no copier
    _problem(applicant.post(f"/api/v1/cases/{case_id}/copies", json={"person_ids": [reader_person.id]}), 403,
             "not_allowed")


def test_supervision_order_round_trip(api: Api) -> None:
    case_id = _accepted(api, "督办测试")
    reform = api.login(api.reform)
    issued = reform.post(f"/api/v1/cases/{case_id}/supervision", json={"content": "请加快办理", "days": 2})
    assert issued.status_code == 201, issued.text
    order_id = issued.json()["id"]
    _problem(reform.post(f"/api/v1/cases/{case_id}/supervision", json={"content": "x"}), 422, "deadline_required")
    _problem(api.login("staffing.clerk.0").post(f"/api/v1/cases/{case_id}/supervision",
                                                json={"content": "x", "days": 2}), 403, "not_allowed")
    handler = api.login("staffing.head.0")
    [addressed] = [o for o in handler.get("/api/v1/orders", params={"mine": "addressed", "state": "open"}).json()[
        "items"] if o["case_id"] == case_id]
    assert addressed["id"] == order_id and addressed["kind"] == "supervision"
    _problem(reform.post(f"/api/v1/orders/{order_id}/close"), 409, "wrong_order_state")
    _problem(api.login("finance.clerk.0").post(f"/api/v1/orders/{order_id}/answer", json={"answer": "已办"}), 403,
             "not_allowed")
    assert handler.post(f"/api/v1/orders/{order_id}/answer", json={"answer": "已加快"}).status_code == 204
    assert reform.post(f"/api/v1/orders/{order_id}/send-back", json={"reason": "请写明时间"}).status_code == 204
    assert handler.post(f"/api/v1/orders/{order_id}/answer", json={"answer": "周五前办结"}).status_code == 204
    assert reform.post(f"/api/v1/orders/{order_id}/close").status_code == 204
    [closed] = reform.get(f"/api/v1/cases/{case_id}/orders").json()["items"]
    assert (closed["state"], closed["sent_back"], closed["answer"]) == ("closed", 1, "周五前办结")
    issued_by_me = reform.get("/api/v1/orders", params={"mine": "issued"}).json()["items"]
    assert order_id in [o["id"] for o in issued_by_me]
    _problem(reform.post("/api/v1/orders/999999999/answer", json={"answer": "x"}), 404, "order_not_found")


def test_rating_and_rectification(api: Api) -> None:
    case_id = _accepted(api, "评价测试")
    applicant = api.login("finance.clerk.0")
    _problem(applicant.post(f"/api/v1/cases/{case_id}/rating", json={"level": "satisfied"}), 409, "wrong_case_status")
    _decide_all(api, case_id)
    handler = api.login("staffing.clerk.0")
    assert handler.post(f"/api/v1/cases/{case_id}/conclude", json={"result": "granted"}).status_code == 204
    _problem(applicant.get(f"/api/v1/cases/{case_id}/rating"), 404, "rating_not_found")
    _problem(applicant.post(f"/api/v1/cases/{case_id}/rating", json={"level": "dissatisfied"}), 422,
             "comment_required")
    _problem(handler.post(f"/api/v1/cases/{case_id}/rating", json={"level": "satisfied"}), 403, "not_allowed")
    rated = applicant.post(f"/api/v1/cases/{case_id}/rating", json={"level": "dissatisfied", "comment": "太慢"})
    assert rated.status_code == 201, rated.text
    rectification_id = rated.json()["rectification_id"]
    assert rectification_id is not None
    assert applicant.get(f"/api/v1/cases/{case_id}/rating").json()["level_label"] == "不满意"
    _problem(applicant.post(f"/api/v1/cases/{case_id}/rating", json={"level": "satisfied"}), 409, "already_rated")
    assert handler.post(f"/api/v1/orders/{rectification_id}/answer", json={"answer": "已整改"}).status_code == 204
    assert api.login(api.reform).post(f"/api/v1/orders/{rectification_id}/close").status_code == 204
    [order] = applicant.get(f"/api/v1/cases/{case_id}/orders").json()["items"]
    assert (order["kind"], order["state"]) == ("rectification", "closed")


def test_saved_opinions(api: Api) -> None:
    me: TestClient = api.login("big_data.section_chief.1")
    first = me.post("/api/v1/opinions", json={"text": "同意"}).json()
    second = me.post("/api/v1/opinions", json={"text": "不同意"}).json()
    edited = me.put(f"/api/v1/opinions/{second['id']}", json={"text": "不同意，请补正"})
    assert edited.status_code == 200 and edited.json()["text"] == "不同意，请补正"
    assert me.put("/api/v1/opinions/order", json={"ids": [second["id"], first["id"]]}).status_code == 204
    assert [o["text"] for o in me.get("/api/v1/opinions").json()["items"]] == ["不同意，请补正", "同意"]
    _problem(me.post("/api/v1/opinions", json={"text": "同意"}), 409, "duplicate_opinion")
    _problem(me.put("/api/v1/opinions/order", json={"ids": [first["id"]]}), 422, "bad_order")
    other = api.login("big_data.section_chief.0")
    assert other.get("/api/v1/opinions").json()["items"] == []
    _problem(other.delete(f"/api/v1/opinions/{first['id']}"), 404, "opinion_not_found")
    assert me.delete(f"/api/v1/opinions/{first['id']}").status_code == 204
    assert [o["id"] for o in me.get("/api/v1/opinions").json()["items"]] == [second["id"]]
