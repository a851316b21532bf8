"""The matter hall and the matter library's administration over HTTP."""

from __future__ import annotations

from tests.factories import TEXT_FORM, linear_process, post_rule
from tests.web.conftest import Api


def test_the_matter_hall_finds_a_matter_and_shows_its_current_version(api: Api) -> None:
    clerk = api.login("office.clerk.0")
    page = clerk.get("/api/v1/matters", params={"region_id": api.city.region.id, "keyword": "测试事项"}).json()
    assert api.matter_id in {m["id"] for m in page["items"]}
    detail = clerk.get(f"/api/v1/matters/{api.matter_id}").json()
    version = detail["current_version"]
    assert detail["handling_unit_id"] == api.city.units["staffing"].id
    assert version["status"] == "published" and version["process"]["schema"] == "xietong.process/1"
    assert [f["key"] for f in version["form_schema"]["fields"]] == ["title", "amount"]
    assert clerk.get("/api/v1/matters/999999999").status_code == 404
    assert clerk.get("/api/v1/matters", params={"status": "odd"}).json()["code"] == "bad_status"


def test_reform_office_defines_drafts_and_publishes_a_matter(api: Api) -> None:
    reform = api.login(api.reform)
    clerk = api.login("office.clerk.0")
    base = {"code": f"B-{api.city.region.code}", "name": "公务用车购置审批", "kind": "promised", "legal_limit_days": 20}
    assert clerk.post("/api/v1/matters/base", json=base).status_code == 403
    created_base = reform.post("/api/v1/matters/base", json=base)
    assert created_base.status_code == 201, created_base.text
    local_body = {"base_matter_id": created_base.json()["id"], "region_id": api.city.region.id,
                  "handling_unit_id": api.other.units["finance"].id}
    wrong_region = reform.post("/api/v1/matters", json=local_body)
    assert wrong_region.status_code == 422 and wrong_region.json()["errors"][0]["code"] == "wrong_region"
    local = reform.post("/api/v1/matters", json={**local_body, "handling_unit_id": api.city.units["finance"].id})
    assert local.status_code == 201 and local.json()["status"] == "draft"
    matter_id = local.json()["id"]

    process = linear_process(("review", post_rule("finance")))
    too_long = reform.post(f"/api/v1/matters/{matter_id}/versions",
                           json={"form_schema": TEXT_FORM, "process": process, "promised_limit_days": 30})
    assert too_long.status_code == 422 and too_long.json()["errors"][0]["code"] == "limit_exceeds_legal"
    broken = reform.post(f"/api/v1/matters/{matter_id}/versions",
                         json={"form_schema": TEXT_FORM, "process": {"schema": "xietong.process/1", "nodes": []},
                               "promised_limit_days": 5})
    assert broken.status_code == 422 and broken.json()["errors"]
    draft = reform.post(f"/api/v1/matters/{matter_id}/versions",
                        json={"form_schema": TEXT_FORM, "process": process, "promised_limit_days": 5})
    assert draft.status_code == 201, draft.text
    published = reform.post(f"/api/v1/matters/versions/{draft.json()['id']}/publish")
    assert published.json()["status"] == "published"
    assert reform.post(f"/api/v1/matters/versions/{draft.json()['id']}/publish").status_code == 409
    assert clerk.get(f"/api/v1/matters/{matter_id}").json()["current_version"]["id"] == draft.json()["id"]
    applicant = api.login("office.clerk.1")
    body = {"local_matter_id": matter_id, "applicant_unit_id": api.city.units["office"].id, "form": {"title": "废止前"}}
    assert applicant.post("/api/v1/cases", json=body).status_code == 201

    assert clerk.post(f"/api/v1/matters/{matter_id}/retire").status_code == 403
    retired = reform.post(f"/api/v1/matters/{matter_id}/retire").json()
    assert retired["status"] == "retired" and retired["current_version"] is None
    assert [v["status"] for v in retired["versions"]] == ["retired"]
    assert reform.post(f"/api/v1/matters/{matter_id}/retire").status_code == 409
    refused = applicant.post("/api/v1/cases", json={**body, "form": {"title": "废止后"}})
    assert refused.status_code in (404, 409, 422) and refused.headers["content-type"] == "application/problem+json"


def test_a_version_exports_as_bpmn_and_imports_back_to_the_same_process(api: Api) -> None:
    from xietong.engine.bpmn import canonical_process

    clerk = api.login("office.clerk.0")
    version = clerk.get(f"/api/v1/matters/{api.matter_id}").json()["current_version"]
    exported = clerk.get(f"/api/v1/matters/versions/{version['id']}/process.bpmn")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("application/xml")
    assert exported.headers["content-disposition"].startswith("attachment")
    imported = clerk.post("/api/v1/matters/process/import-bpmn",
                          files={"file": ("p.bpmn", exported.content, "application/xml")})
    assert imported.status_code == 200, imported.text
    assert canonical_process(imported.json()) == canonical_process(version["process"])
    hostile = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><d>&a;</d>'
    refused = clerk.post("/api/v1/matters/process/import-bpmn", files={"file": ("x.bpmn", hostile, "text/xml")})
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert clerk.get("/api/v1/matters/versions/999999999/process.bpmn").status_code == 404
