"""Materials over HTTP: upload, submit with them, download only through the case's permission."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.cases.test_attachments import MATERIALS
from tests.factories import joint_approval_process, publish_matter
from tests.web.conftest import Api
from xietong.config import Settings
from xietong.db.session import unit_of_work
from xietong.demo.samples import pdf_bytes, png_bytes
from xietong.web.app import create_app


def _upload(client: TestClient, name: str, data: bytes, material: str | None = "M1") -> dict:
    form = {"material_code": material} if material else {}
    response = client.post("/api/v1/attachments", files={"file": (name, data, "application/octet-stream")}, data=form)
    assert response.status_code == 201, response.text
    return response.json()


def test_upload_submit_and_download_through_the_case(api: Api, db_engine: Engine) -> None:
    with unit_of_work(db_engine) as session:
        matter_id = publish_matter(session, api.city, joint_approval_process(), materials=MATERIALS).id
    applicant = api.login("finance.clerk.0")
    uploaded = _upload(applicant, "申请书.png", png_bytes())
    assert uploaded["content_type"] == "image/png" and uploaded["case_id"] is None
    handler = api.login("staffing.clerk.0")
    assert handler.get(f"/api/v1/attachments/{uploaded['id']}").status_code == 404  # not submitted yet: uploader only

    missing = applicant.post("/api/v1/cases", json={
        "local_matter_id": matter_id, "applicant_unit_id": api.city.units["finance"].id, "form": {"title": "带材料"}})
    assert missing.status_code == 422 and missing.json()["errors"][0]["code"] == "material_required"
    submitted = applicant.post("/api/v1/cases", json={
        "local_matter_id": matter_id, "applicant_unit_id": api.city.units["finance"].id, "form": {"title": "带材料"},
        "materials": {"M1": [uploaded["id"]]}})
    assert submitted.status_code == 201, submitted.text

    download = handler.get(f"/api/v1/attachments/{uploaded['id']}")
    assert download.status_code == 200 and download.content == png_bytes()
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["x-content-type-options"] == "nosniff"
    stranger = api.login(api.other.person("staffing", "clerk"))
    assert stranger.get(f"/api/v1/attachments/{uploaded['id']}").status_code == 404
    reused = applicant.post("/api/v1/cases", json={
        "local_matter_id": matter_id, "applicant_unit_id": api.city.units["finance"].id, "form": {"title": "重复用"},
        "materials": {"M1": [uploaded["id"]]}})
    assert reused.status_code == 422  # an attachment belongs to one case


def test_disguised_and_oversized_uploads_are_refused(api: Api, settings: Settings) -> None:
    applicant = api.login("finance.clerk.1")
    html = applicant.post("/api/v1/attachments",
                          files={"file": ("通知.pdf", b"<html><script>alert(1)</script></html>", "application/pdf")})
    assert html.status_code == 422 and html.headers["content-type"] == "application/problem+json"
    no_file = applicant.post("/api/v1/attachments", data={"material_code": "M1"})
    assert no_file.status_code == 422

    small = create_app(settings.model_copy(update={"max_upload_mb": 1}))
    client = TestClient(small)
    person = api.city.person("finance", "clerk", 1)
    login = client.post("/api/v1/auth/login", json={"username": person.username, "password": "Xietong-2026!"})
    client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
    big = client.post("/api/v1/attachments", files={"file": ("大.pdf", pdf_bytes("x" * (2 << 20)), "application/pdf")})
    assert big.status_code == 413 and big.json()["code"] == "file_too_large"
    small.state.engine.dispose()


def test_two_submissions_racing_for_one_upload_one_takes_it(api: Api, db_engine: Engine) -> None:
    import threading

    with unit_of_work(db_engine) as session:
        matter_id = publish_matter(session, api.city, joint_approval_process(), materials=MATERIALS).id
    first, second = api.login("big_data.clerk.0"), api.login("big_data.clerk.0")
    uploaded = _upload(first, "申请书.pdf", pdf_bytes("race"))
    body = {"local_matter_id": matter_id, "applicant_unit_id": api.city.units["big_data"].id,
            "form": {"title": "抢同一附件"}, "materials": {"M1": [uploaded["id"]]}}
    barrier, statuses = threading.Barrier(2), []

    def submit(client: TestClient) -> None:
        barrier.wait()
        statuses.append(client.post("/api/v1/cases", json=body).status_code)

    threads = [threading.Thread(target=submit, args=(c,)) for c in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) in ([201, 409], [201, 422])  # the loser sees it taken (409) or already used (422)


def test_a_material_refuses_a_format_found_in_the_content(api: Api, db_engine: Engine) -> None:
    only_pdf = [{"code": "M1", "name": "申请书", "required": True, "formats": ["pdf"]}]
    with unit_of_work(db_engine) as session:
        matter_id = publish_matter(session, api.city, joint_approval_process(), materials=only_pdf).id
    applicant = api.login("big_data.clerk.1")
    picture = _upload(applicant, "申请书.png", png_bytes())
    response = applicant.post("/api/v1/cases", json={
        "local_matter_id": matter_id, "applicant_unit_id": api.city.units["big_data"].id,
        "form": {"title": "格式不对"}, "materials": {"M1": [picture["id"]]}})
    assert response.status_code == 422 and response.json()["errors"][0]["code"] == "bad_format"
