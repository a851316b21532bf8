"""机构改革 over HTTP: the plan, the refusal of an incomplete split, the execution and its audit record."""

from __future__ import annotations

from tests.web.conftest import Api, submit
from tests.web.test_api_cases import _task


def test_plan_then_execute_a_merge_over_http(api: Api) -> None:
    clerk = api.login("staffing.clerk.0")
    case_id = submit(api.login("finance.clerk.0"), api)["id"]
    assert clerk.post(f"/api/v1/cases/{case_id}/accept").status_code == 200
    staffing, office = api.city.units["staffing"], api.city.units["office"]
    body = {"kind": "merge", "units": [staffing.code, office.code], "reason": "编委〔2026〕12号",
            "successor": {"code": f"{api.city.region.code}.merged", "name": "综合办公室"}}

    refused = clerk.post("/api/v1/directory/reorganisations/plan", json=body)
    assert refused.status_code == 403 and refused.json()["code"] == "not_directory_admin"
    admin = api.login(api.admin)
    plan = admin.post("/api/v1/directory/reorganisations/plan", json=body)
    assert plan.status_code == 200, plan.text
    found = plan.json()
    assert (found["kind"], found["done"], found["refused"]) == ("merge", False, 0)
    assert [i["case_id"] for i in found["items"] if i["kind"] == "case"] == [case_id]

    split = {"kind": "split", "units": [staffing.code], "reason": "拆分",
             "successors": [{"code": "x1", "name": "甲"}, {"code": "x2", "name": "乙"}]}
    bad = admin.post("/api/v1/directory/reorganisations", json=split)
    assert bad.status_code == 422 and bad.json()["code"] == "reorganisation_refused"
    assert bad.json()["refused"] and "未指定" in bad.json()["refused"][0]["reason"]
    assert admin.post("/api/v1/directory/reorganisations", json={"kind": "merge"}).status_code == 422

    done = admin.post("/api/v1/directory/reorganisations", json=body)
    assert done.status_code == 200, done.text
    log = done.json()
    assert log["failed"] == 0 and [o["ok"] for o in log["items"] if o["kind"] == "case"] == [True]
    task = _task(clerk, case_id)  # the clerk, now of the successor, still has the step to do
    assert task["unit_id"] != staffing.id
    again = admin.post("/api/v1/directory/reorganisations/plan", json=body).json()
    assert (again["done"], again["items"]) == (True, [])
    auditor = api.login(api.auditor)
    trail = auditor.get("/api/v1/audit", params={"action": "directory.reorganised"}).json()
    assert any(r["target_id"] == log["key"] and r["detail"]["directory_items"] >= 1 for r in trail["items"])
    cases = auditor.get("/api/v1/audit", params={"action": "directory.reorganisation_cases"}).json()
    assert any(r["target_id"] == log["key"] and r["detail"]["cases_moved"] == 1 for r in cases["items"])
