"""共享材料库 over HTTP: keep a unit's standing documents by API and page, link one at submission by API and in
the wizard, the handler sees where it came from, and nobody outside the unit reads or links them."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import Engine, select

from tests.factories import joint_approval_process, publish_matter
from tests.web.conftest import Api
from tests.web.page_client import csrf_headers, page_login
from xietong.db.session import unit_of_work
from xietong.demo.samples import pdf_bytes
from xietong.security.models import AuditRecord


def _kind() -> str:
    return f"测试证照{uuid.uuid4().hex[:6]}"


def _matter(api: Api, db_engine: Engine, kind: str) -> int:
    materials = [{"code": "M1", "name": "申请书", "required": False, "formats": ["pdf"]},
                 {"code": "M2", "name": "单位证照", "required": True, "formats": ["pdf"], "shared_kind": kind}]
    with unit_of_work(db_engine) as session:
        return publish_matter(session, api.city, joint_approval_process(), materials=materials).id


def _keep(client, unit_id: int, kind: str, text: str = "证照", **dates: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/shared-materials", data={"unit_id": str(unit_id), "kind": kind, **dates},
                       files={"file": ("证照.pdf", pdf_bytes(text), "application/pdf")})


def test_keep_versions_link_one_and_the_handler_sees_where_it_came_from(api: Api, db_engine: Engine) -> None:
    kind, unit = _kind(), api.city.units["finance"].id
    clerk = api.login("finance.clerk.0")
    first = _keep(clerk, unit, kind, "第一版", valid_until="2099-12-31")
    assert first.status_code == 201, first.text
    assert first.json()["number"] == 1 and first.json()["state"] == "valid"
    listed = clerk.get("/api/v1/shared-materials", params={"unit_id": unit}).json()
    (doc,) = [d for d in listed["documents"] if d["kind"] == kind]
    assert doc["current"]["id"] == first.json()["id"] and "统一社会信用代码证" in listed["kinds"]
    matter_id = _matter(api, db_engine, kind)
    filed = clerk.post("/api/v1/cases", json={
        "local_matter_id": matter_id, "applicant_unit_id": unit, "form": {"title": "引用共享材料的申请"},
        "shared_materials": {"M2": first.json()["id"]}})
    assert filed.status_code == 201, filed.text
    second = clerk.post(f"/api/v1/shared-materials/{doc['id']}/versions",
                        files={"file": ("新证照.pdf", pdf_bytes("第二版"), "application/pdf")})
    assert second.status_code == 201 and second.json()["number"] == 2
    with unit_of_work(db_engine) as session:  # who put which version there is on the audit trail
        trail = session.scalars(select(AuditRecord.detail).where(
            AuditRecord.action == "materials.version_added", AuditRecord.target_id == str(doc["id"]))).all()
    assert sorted(d["number"] for d in trail) == [1, 2]

    handler = api.login("staffing.clerk.0")
    detail = handler.get(f"/api/v1/cases/{filed.json()['id']}").json()
    (linked,) = detail["attachments"]
    assert linked["shared_version_id"] == first.json()["id"]
    assert linked["source"].startswith(f"共享材料库 · {kind} · 版本 1 · 上传于 ")
    download = handler.get(f"/api/v1/attachments/{linked['id']}")
    assert download.status_code == 200 and download.content == pdf_bytes("第一版")  # the version filed, not v2
    page = page_login(api, "staffing.clerk.0", htmx=False).get(f"/cases/{filed.json()['id']}")
    assert f"共享材料库 · {kind} · 版本 1" in page.text

    history = clerk.get(f"/api/v1/shared-materials/{doc['id']}").json()
    assert [v["number"] for v in history["versions"]] == [2, 1]
    assert [(u["case_id"], u["version_number"]) for u in history["uses"]] == [(filed.json()["id"], 1)]
    old = clerk.get(f"/api/v1/shared-materials/{doc['id']}/versions/1")
    assert old.status_code == 200 and old.content == pdf_bytes("第一版")
    assert old.headers["content-disposition"].startswith("attachment")
    superseded = clerk.post("/api/v1/cases", json={
        "local_matter_id": matter_id, "applicant_unit_id": unit, "form": {"title": "引用旧版本的申请"},
        "shared_materials": {"M2": first.json()["id"]}})
    assert superseded.status_code == 422
    assert superseded.json()["errors"][0]["code"] == "shared_superseded"


def test_another_unit_can_neither_read_nor_link_them(api: Api, db_engine: Engine) -> None:
    kind, unit = _kind(), api.city.units["finance"].id
    clerk = api.login("finance.clerk.1")
    version = _keep(clerk, unit, kind).json()
    material_id = clerk.get("/api/v1/shared-materials", params={"unit_id": unit}).json()
    (doc,) = [d for d in material_id["documents"] if d["kind"] == kind]
    outsider = api.login("office.clerk.1")  # same region, another unit
    for path in (f"/api/v1/shared-materials/{doc['id']}", f"/api/v1/shared-materials/{doc['id']}/versions/1"):
        refused = outsider.get(path)
        assert refused.status_code == 404 and refused.json()["code"] == "shared_material_not_found"
    assert outsider.get("/api/v1/shared-materials", params={"unit_id": unit}).status_code == 403
    assert _keep(outsider, unit, kind).status_code == 403
    new = outsider.post(f"/api/v1/shared-materials/{doc['id']}/versions",
                        files={"file": ("x.pdf", pdf_bytes("x"), "application/pdf")})
    assert new.status_code == 404
    matter_id = _matter(api, db_engine, kind)
    office = api.city.units["office"].id
    linked = outsider.post("/api/v1/cases", json={
        "local_matter_id": matter_id, "applicant_unit_id": office, "form": {"title": "冒用他单位材料"},
        "shared_materials": {"M2": version["id"]}})
    assert linked.status_code == 422 and linked.json()["errors"][0]["code"] == "shared_not_found"
    as_finance = outsider.post("/api/v1/cases", json={
        "local_matter_id": matter_id, "applicant_unit_id": unit, "form": {"title": "冒用他单位名义"},
        "shared_materials": {"M2": version["id"]}})
    assert as_finance.status_code == 403


def test_expired_and_bad_uploads_are_refused_in_chinese(api: Api) -> None:
    clerk = api.login("finance.clerk.0")
    unit = api.city.units["finance"].id
    expired = _keep(clerk, unit, _kind(), valid_until="2020-01-01")
    assert expired.status_code == 422 and expired.headers["content-type"] == "application/problem+json"
    assert expired.json()["detail"] == "该材料已于 2020-01-01 过期，不能作为新版本上传"
    disguised = clerk.post("/api/v1/shared-materials", data={"unit_id": str(unit), "kind": _kind()},
                           files={"file": ("x.pdf", b"<html>not a pdf</html>", "application/pdf")})
    assert disguised.status_code == 422


@pytest.fixture(scope="module")
def page_kind(api: Api) -> str:
    return _kind()


def test_the_catalogue_page_uploads_and_lists_versions(api: Api, page_kind: str) -> None:
    client = page_login(api, "hr_social.clerk.0", htmx=False)
    token = csrf_headers(client)["x-csrf-token"]
    page = client.get("/account/materials")
    assert page.status_code == 200 and "共享材料库" in page.text and '<label for="kind">材料类型</label>' in page.text
    unit = str(api.city.units["hr_social"].id)
    bad = client.post("/account/materials", data={"csrf_token": token, "unit_id": unit, "kind_other": page_kind,
                                                   "valid_until": "2020-01-01"},
                      files={"file": ("证照.pdf", pdf_bytes("页面上传"), "application/pdf")})
    assert bad.status_code == 422 and "过期" in bad.text and f'value="{page_kind}"' in bad.text  # nothing lost
    done = client.post("/account/materials", data={"csrf_token": token, "unit_id": unit, "kind_other": page_kind,
                                                    "valid_until": "2099-06-30"},
                       files={"file": ("证照.pdf", pdf_bytes("页面上传"), "application/pdf")}, follow_redirects=False)
    assert done.status_code == 303, done.text
    detail = client.get(done.headers["location"])
    assert detail.status_code == 200 and "已上传新版本" in detail.text and "版本 1：证照.pdf" in detail.text
    assert "2099-06-30" in detail.text
    again = client.post(done.headers["location"].split("?")[0] + "/versions", data={"csrf_token": token},
                        files={"file": ("证照2.pdf", pdf_bytes("第二版"), "application/pdf")}, follow_redirects=False)
    assert again.status_code == 303
    assert "版本 2：证照2.pdf" in client.get(again.headers["location"]).text
    listed = client.get("/account/materials").text
    assert page_kind in listed and "版本 2" in listed
    outsider = page_login(api, "finance.clerk.0", htmx=False)
    assert outsider.get(done.headers["location"].split("?")[0]).status_code == 404


def test_the_wizard_offers_the_document_on_file_and_links_it(api: Api, db_engine: Engine, page_kind: str) -> None:
    client = page_login(api, "hr_social.clerk.0", htmx=False)
    token = csrf_headers(client)["x-csrf-token"]
    unit = str(api.city.units["hr_social"].id)
    if page_kind not in client.get("/account/materials").text:
        client.post("/account/materials", data={"csrf_token": token, "unit_id": unit, "kind_other": page_kind},
                    files={"file": ("证照.pdf", pdf_bytes("页面上传"), "application/pdf")})
    matter_id = _matter(api, db_engine, page_kind)
    form = client.get(f"/matters/{matter_id}/apply").text
    assert f"已在库：{page_kind}（" in form and "— 使用此件" in form
    offered = re.search(r'name="shared.M2" value="(v\d+)" checked', form)
    assert offered, "the document on file is linked by default"
    data = {"csrf_token": token, "applicant_unit_id": unit, "f.title": "向导里引用共享材料"}
    unticked = client.post(f"/matters/{matter_id}/apply", data=data)
    assert unticked.status_code == 422 and "请上传“单位证照”" in unticked.text  # unticked: an upload is needed
    assert re.search(r'name="shared.M2" value="v\d+" >', unticked.text)  # stays unticked when shown again
    review = client.post(f"/matters/{matter_id}/apply", data={**data, "shared.M2": offered.group(1), "step": "review"})
    assert review.status_code == 200 and f"已在库：{page_kind}" in review.text
    final = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', review.text))
    final.pop("step", None)
    assert final["shared.M2"] == offered.group(1)
    done = client.post(f"/matters/{matter_id}/apply", data=final, follow_redirects=False)
    assert done.status_code == 303, done.text
    case = client.get(done.headers["location"])
    assert f"共享材料库 · {page_kind} · 版本" in case.text


def test_an_application_client_of_the_unit_keeps_and_links_them(api: Api, db_engine: Engine) -> None:
    from tests.web.clients_helpers import oauth_client, register

    kind, unit = _kind(), api.city.units["finance"].id
    client = oauth_client(api, register(api, name=f"财政共享材料{kind[-6:]}"))
    kept = client.post("/api/v1/shared-materials", data={"unit_id": str(unit), "kind": kind},
                       files={"file": ("证照.pdf", pdf_bytes("应用上传"), "application/pdf")})
    assert kept.status_code == 201, kept.text
    assert client.get("/api/v1/shared-materials").json()["unit_id"] == unit  # its own unit by default
    filed = client.post("/api/v1/cases", json={
        "local_matter_id": _matter(api, db_engine, kind), "applicant_unit_id": unit, "channel": "api",
        "form": {"title": "对接应用引用共享材料"}, "shared_materials": {"M2": kept.json()["id"]}})
    assert filed.status_code == 201, filed.text
    handler = api.login("staffing.clerk.1")
    (linked,) = handler.get(f"/api/v1/cases/{filed.json()['id']}").json()["attachments"]
    assert linked["source"].endswith(f"由 对接应用财政共享材料{kind[-6:]}")
    other = oauth_client(api, register(api, units=("office",), name=f"办公室系统{kind[-6:]}"))
    assert other.get("/api/v1/shared-materials", params={"unit_id": unit}).status_code == 403
