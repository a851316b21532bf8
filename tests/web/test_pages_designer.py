"""The matter editor, process designer and form designer pages: who may use them, opening a draft, editing its
settings, materials and form (refused edits name every problem and save nothing), saving a process as BPMN
(invalid drawings kept, not publishable), publishing and retiring, the history with its 五减 figures."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from tests.factories import linear_process, post_rule, publish_matter
from tests.web.conftest import Api
from tests.web.page_client import page_login
from xietong.catalog.models import DraftProcess, MatterVersion, ProcessDefinition
from xietong.catalog.reductions import version_facts
from xietong.db.session import unit_of_work
from xietong.engine.bpmn import export_bpmn

MATERIALS = [{"code": "M01", "name": "申请函", "required": True, "formats": ["pdf"], "max_size_mb": 5}]


@pytest.fixture
def matter_id(api: Api, db_engine: Engine) -> int:
    with unit_of_work(db_engine) as session:
        process = linear_process(("accept", post_rule("staffing", "clerk")), ("approve", post_rule("staffing")))
        return publish_matter(session, api.city, process, materials=MATERIALS).id


def _admin(api: Api) -> TestClient:
    return page_login(api, api.admin)


def _draft(api: Api, client: TestClient, matter_id: int) -> int:
    opened = client.post(f"/admin/matters/{matter_id}/drafts", follow_redirects=False)
    assert opened.status_code == 303, opened.text
    page = client.get(f"/admin/matters/{matter_id}")
    found = re.search(rf"/admin/matters/{matter_id}/versions/(\d+)/process", page.text)
    assert found, page.text
    return int(found.group(1))


def test_only_catalog_administrators_of_the_region_reach_the_editor(api: Api, matter_id: int) -> None:
    clerk = page_login(api, "finance.clerk.0")
    assert clerk.get("/admin/matters", headers={"HX-Request": ""}).status_code == 403
    assert clerk.get(f"/admin/matters/{matter_id}", headers={"HX-Request": ""}).status_code == 403
    assert clerk.post(f"/admin/matters/{matter_id}/drafts").status_code == 403
    other_admin = page_login(api, api.other.people["finance.clerk.0"])
    assert other_admin.get(f"/admin/matters/{matter_id}", headers={"HX-Request": ""}).status_code == 403
    admin = _admin(api)
    listed = admin.get("/admin/matters", headers={"HX-Request": ""})
    assert listed.status_code == 200 and f'href="/admin/matters/{matter_id}"' in listed.text
    assert admin.get("/admin/matters/999999", headers={"HX-Request": ""}).status_code == 404


def test_open_a_draft_edit_settings_and_materials_then_publish_with_the_reductions(
    api: Api, matter_id: int, db_engine: Engine
) -> None:
    client = _admin(api)
    version_id = _draft(api, client, matter_id)
    again = client.post(f"/admin/matters/{matter_id}/drafts")
    assert again.status_code == 409 and "已有草稿版本" in again.text
    bad = client.post(f"/admin/matters/{matter_id}/versions/{version_id}/settings",
                      data={"kind": "promised", "promised_limit_days": "99", "fee_yuan": "x", "trips": "1"})
    assert bad.status_code == 422 and "收费应为金额" in bad.text
    ok = client.post(f"/admin/matters/{matter_id}/versions/{version_id}/settings",
                     data={"kind": "promised", "promised_limit_days": "3", "fee_yuan": "0", "trips": "0"},
                     follow_redirects=False)
    assert ok.status_code == 303
    over = client.post(f"/admin/matters/{matter_id}/versions/{version_id}/settings",
                       data={"kind": "promised", "promised_limit_days": "99", "fee_yuan": "0", "trips": "0"})
    assert over.status_code == 422 and "承诺时限不能超过法定时限" in over.text
    unknown = client.post(f"/admin/matters/{matter_id}/versions/{version_id}/materials",
                          data={"mat.code": ["M01", "m2"], "mat.name": ["申请函", "坏编码"],
                                "mat.required": ["yes", "no"], "mat.formats": ["pdf", "exe"],
                                "mat.max_size_mb": ["5", "5"], "mat.note": ["", ""]})
    assert unknown.status_code == 422 and "未保存" in unknown.text
    saved = client.post(f"/admin/matters/{matter_id}/versions/{version_id}/materials",
                        data={"mat.code": ["M01", ""], "mat.name": ["申请函", ""], "mat.required": ["yes", "no"],
                              "mat.formats": ["pdf,jpg", ""], "mat.max_size_mb": ["5", ""], "mat.note": ["盖章", ""]},
                        follow_redirects=False)
    assert saved.status_code == 303
    published = client.post(f"/admin/matters/{matter_id}/versions/{version_id}/publish", follow_redirects=False)
    assert published.status_code == 303
    page = client.get(f"/admin/matters/{matter_id}")
    assert "已发布" in page.text and "与第 1 版相比" in page.text and "减时限" in page.text
    with unit_of_work(db_engine) as session:
        version = session.get(MatterVersion, version_id)
        assert version is not None and version.status == "published" and version.promised_limit_days == 3
        assert version.materials[0]["formats"] == ["pdf", "jpg"]


def _bpmn_of(db_engine: Engine, version_id: int) -> str:
    with unit_of_work(db_engine) as session:
        version = session.get(MatterVersion, version_id)
        assert version is not None
        definition = session.get(ProcessDefinition, version.process_definition_id)
        assert definition is not None
        return export_bpmn(definition.body).decode()


def test_a_saved_invalid_process_is_kept_and_blocks_publishing_until_fixed(
    api: Api, matter_id: int, db_engine: Engine
) -> None:
    client = _admin(api)
    version_id = _draft(api, client, matter_id)
    client.post(f"/admin/matters/{matter_id}/versions/{version_id}/settings",
                data={"kind": "promised", "promised_limit_days": "5", "fee_yuan": "12.50", "trips": "2"})
    good = _bpmn_of(db_engine, version_id)
    page = client.get(f"/admin/matters/{matter_id}/versions/{version_id}/process", headers={"HX-Request": ""})
    assert page.status_code == 200 and "bpmn-modeler.production.min.js" in page.text
    assert "style-src 'self';" in page.headers["content-security-policy"]  # bpmn-js needs no relaxation
    assert "script-src 'self';" in page.headers["content-security-policy"]
    assert client.get(f"/admin/matters/{matter_id}/versions/{version_id}/process.bpmn").text == good

    broken = good.replace('<xt:assign rule="post" post="section_chief">', '<xt:nothing>', 1)
    broken = re.sub(r"<xt:nothing>.*?</xt:assign>", "", broken, count=1, flags=re.S)
    broken = broken.replace("</bpmn:process>", '<bpmn:serviceTask id="robot" name="自动"/></bpmn:process>')
    saved = client.post(f"/admin/matters/{matter_id}/versions/{version_id}/process", content=broken.encode(),
                        headers={"Content-Type": "application/xml"})
    assert saved.status_code == 200, saved.text
    answer = saved.json()
    assert answer["saved"] is True and answer["valid"] is False
    messages = " ".join(p["message"] for p in answer["problems"])
    assert "服务任务" in messages
    assert client.get(f"/admin/matters/{matter_id}/versions/{version_id}/process.bpmn").text == broken
    refused = client.post(f"/admin/matters/{matter_id}/versions/{version_id}/publish")
    assert refused.status_code == 422 and "不能发布" in refused.text and "服务任务" in refused.text

    unreadable = client.post(f"/admin/matters/{matter_id}/versions/{version_id}/process", content=b"<bpmn:def",
                             headers={"Content-Type": "application/xml"})
    assert unreadable.status_code == 422 and unreadable.json()["saved"] is False
    assert "不是合法的 XML" in unreadable.json()["message"]

    renamed = good.replace('name="approve"', 'name="局长审批"')
    fixed = client.post(f"/admin/matters/{matter_id}/versions/{version_id}/process", content=renamed.encode(),
                        headers={"Content-Type": "application/xml"})
    assert fixed.json() == {"valid": True, "saved": True, "message": "流程已保存，校验通过", "problems": []}
    with unit_of_work(db_engine) as session:
        assert session.get(DraftProcess, version_id) is None
        version = session.get(MatterVersion, version_id)
        assert version is not None
        body = session.get(ProcessDefinition, version.process_definition_id).body  # type: ignore[union-attr]
        assert {n.get("name") for n in body["nodes"]} >= {"局长审批"}
        assert version_facts(body).trips == 2  # the settings' fee and trips survive a drawing's save
    assert client.post(f"/admin/matters/{matter_id}/versions/{version_id}/publish",
                       follow_redirects=False).status_code == 303


def test_form_designer_adds_orders_configures_and_previews_fields(api: Api, matter_id: int,
                                                                  db_engine: Engine) -> None:
    client = _admin(api)
    version_id = _draft(api, client, matter_id)
    base = f"/admin/matters/{matter_id}/versions/{version_id}/form"
    page = client.get(base, headers={"HX-Request": ""})
    assert page.status_code == 200 and "添加字段" in page.text and 'id="preview-frame"' in page.text
    added = client.post(f"{base}/fields", data={"type": "select", "key": "kind", "label": "申请类型"})
    assert added.status_code == 200 and "编辑：申请类型" in added.text
    duplicate = client.post(f"{base}/fields", data={"type": "text", "key": "kind", "label": "又一个"})
    assert duplicate.status_code == 422 and "字段标识重复" in duplicate.text
    assert client.post(f"{base}/fields/kind", data={
        "label": "申请类型", "options": "new=新办\nchange=变更", "required": "on"}).status_code == 200
    assert client.post(f"{base}/fields", data={"type": "text", "key": "reason", "label": "变更原因"}).status_code == 200
    bad_condition = client.post(f"{base}/fields/reason", data={
        "label": "变更原因", "visible_field": "kind", "visible_values": "nope"})
    assert bad_condition.status_code == 422 and "没有这个选项" in bad_condition.text
    configured = client.post(f"{base}/fields/reason", data={
        "label": "变更原因", "visible_field": "kind", "visible_values": "change", "required": "on",
        "prefill": "person.name"})
    assert configured.status_code == 200
    assert 'data-visible-field="f.kind"' in configured.text  # the preview renders the condition like the wizard
    preview = client.post(f"{base}/preview/reason", data={"label": "改过的名称", "max_length": "x"})
    assert "max_length 应为整数" in preview.text
    preview = client.post(f"{base}/preview/reason", data={"label": "改过的名称"})
    assert "改过的名称" in preview.text
    moved = client.post(f"{base}/fields/reason/move", data={"by": "up"})
    assert moved.status_code == 422 and "显示条件只能依据排在前面的字段" in moved.text
    assert client.post(f"{base}/fields/title/move", data={"by": "down"}).status_code == 200
    with unit_of_work(db_engine) as session:
        version = session.get(MatterVersion, version_id)
        assert version is not None
        fields = version.form_schema["fields"]
        assert [f["key"] for f in fields] == ["amount", "title", "kind", "reason"]
        assert fields[3]["visible_when"] == {"field": "kind", "equals": ["change"]}
        assert fields[3]["prefill"] == "person.name"
    assert client.post(f"{base}/fields/title/remove").status_code == 200
    with unit_of_work(db_engine) as session:
        keys = [f["key"] for f in session.scalar(select(MatterVersion.form_schema).where(
            MatterVersion.id == version_id))["fields"]]
        assert keys == ["amount", "kind", "reason"]


CONDITIONAL_FORM = {
    "schema": "xietong.form/1",
    "fields": [
        {"key": "kind", "label": "申请类型", "type": "select", "required": True,
         "options": [{"value": "new", "label": "新办"}, {"value": "change", "label": "变更"}]},
        {"key": "reason", "label": "变更原因", "type": "text", "required": True,
         "visible_when": {"field": "kind", "equals": ["change"]}},
        {"key": "unit_name", "label": "申请单位", "type": "text", "prefill": "applicant_unit.name"},
    ],
}


def test_the_wizard_honours_display_conditions_and_prefill_sources(api: Api, db_engine: Engine) -> None:
    with unit_of_work(db_engine) as session:
        process = linear_process(("accept", post_rule("staffing", "clerk")))
        local_id = publish_matter(session, api.city, process, form=CONDITIONAL_FORM).id
    page = page_login(api, "finance.clerk.0", htmx=False).get(f"/matters/{local_id}/apply")
    assert page.status_code == 200
    assert 'data-visible-field="f.kind" data-visible-values=\'["change"]\'' in page.text
    assert f'name="f.unit_name" value="{api.city.units["finance"].name}"' in page.text
    client = api.login("finance.clerk.0")
    body = {"local_matter_id": local_id, "applicant_unit_id": api.city.units["finance"].id}
    hidden = client.post("/api/v1/cases", json=body | {"form": {"kind": "new", "reason": "不会保存"}})
    assert hidden.status_code == 201, hidden.text
    shown = client.post("/api/v1/cases", json=body | {"form": {"kind": "change"}})
    assert shown.status_code == 422 and shown.json()["errors"][0]["field"] == "reason"
