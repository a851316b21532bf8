"""The matter editor's API: drafts from the latest version, settings, form, materials and process edits with
problem+json naming every problem, a kept invalid process blocking publication (also through the old route)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.factories import linear_process, post_rule, publish_matter
from tests.web.conftest import Api
from xietong.db.session import unit_of_work
from xietong.engine.bpmn import export_bpmn

PROCESS = linear_process(("accept", post_rule("staffing", "clerk")))


@pytest.fixture
def matter_id(api: Api, db_engine: Engine) -> int:
    with unit_of_work(db_engine) as session:
        return publish_matter(session, api.city, PROCESS).id


def test_draft_edit_and_publish_through_the_api_with_problem_json(api: Api, matter_id: int) -> None:
    assert api.login("finance.clerk.0").post(f"/api/v1/matters/{matter_id}/drafts").status_code == 403
    client = api.login(api.admin)
    created = client.post(f"/api/v1/matters/{matter_id}/drafts")
    assert created.status_code == 201, created.text
    version_id = created.json()["id"]
    assert created.json()["number"] == 2 and created.json()["status"] == "draft"
    again = client.post(f"/api/v1/matters/{matter_id}/drafts")
    assert again.status_code == 409 and again.json()["code"] == "draft_exists"

    bad_form = client.put(f"/api/v1/matters/versions/{version_id}/form", json={"form_schema": {
        "schema": "xietong.form/1", "fields": [
            {"key": "x", "label": "X", "type": "text", "visible_when": {"field": "later", "equals": ["1"]}},
            {"key": "Bad", "label": "", "type": "text"}]}})
    assert bad_form.status_code == 422 and bad_form.headers["content-type"] == "application/problem+json"
    messages = [e["message"] for e in bad_form.json()["errors"]]
    assert any("字段标识格式不正确" in m for m in messages) and any("不能为空" in m for m in messages)

    settings = client.put(f"/api/v1/matters/versions/{version_id}/settings",
                          json={"kind": "promised", "promised_limit_days": 4, "fee_yuan": "8.50", "trips": 1})
    assert settings.status_code == 200, settings.text
    assert settings.json()["process"]["extensions"]["facts"] == {"fee_yuan": 8.5, "trips": 1}

    broken = export_bpmn(PROCESS).replace(b'<xt:assign rule="post" post="clerk">', b"<xt:gone>")
    broken = broken.replace(b"</xt:assign>", b"</xt:gone>")
    saved = client.put(f"/api/v1/matters/versions/{version_id}/process.bpmn", content=broken,
                       headers={"Content-Type": "application/xml"})
    assert saved.status_code == 200 and saved.json()["valid"] is False
    assert "没有设置办理人" in saved.json()["problems"][0]["message"] and saved.json()["problems"][0]["line"] > 0
    check = client.get(f"/api/v1/matters/versions/{version_id}/publish-check").json()
    assert check["publishable"] is False and "没有设置办理人" in check["problems"][0]["message"]
    refused = client.post(f"/api/v1/matters/versions/{version_id}/publish")
    assert refused.status_code == 422 and refused.json()["code"] == "version_not_publishable"
    hostile = client.put(f"/api/v1/matters/versions/{version_id}/process.bpmn",
                         content=b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')
    assert hostile.status_code == 422 and "DTD" in hostile.json()["detail"] + str(hostile.json()["errors"])

    fixed = client.put(f"/api/v1/matters/versions/{version_id}/process.bpmn", content=export_bpmn(PROCESS))
    assert fixed.json() == {"valid": True, "problems": []}
    published = client.post(f"/api/v1/matters/versions/{version_id}/publish")
    assert published.status_code == 200 and published.json()["status"] == "published"
    detail = client.get(f"/api/v1/matters/{matter_id}").json()
    assert detail["current_version"]["process"]["extensions"]["facts"]["trips"] == 1  # the drawing kept the facts
