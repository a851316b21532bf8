"""文书 over HTTP: issued by the worker, listed with the case, downloaded as PDF; templates edited with line errors."""

from __future__ import annotations

from io import BytesIO

from pypdf import PdfReader

from tests.web.conftest import Api, submit
from xietong.worker.loop import run_once


def test_documents_and_the_approval_sheet_over_http(api: Api) -> None:
    applicant = api.login("finance.clerk.0")
    case_id = submit(applicant, api)["id"]
    handler = api.login("staffing.clerk.0")
    window = handler.get(f"/api/v1/cases/{case_id}/documents").json()["supplement_window"]
    assert window is not None and window["passed"] is False
    assert handler.post(f"/api/v1/cases/{case_id}/accept").status_code == 200
    while run_once(api.app.state.engine)["issue_documents"]:
        pass
    listed = applicant.get(f"/api/v1/cases/{case_id}/documents").json()
    assert listed["supplement_window"] is None
    [notice] = listed["documents"]
    assert notice["title"] == "受理通知书" and notice["number"] in notice["body"]
    pdf = applicant.get(f"/api/v1/documents/{notice['id']}.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("attachment")
    assert "受理通知书" in "".join(PdfReader(BytesIO(pdf.content)).pages[0].extract_text().split())
    stranger = api.login(api.other.people["finance.clerk.0"])
    assert stranger.get(f"/api/v1/documents/{notice['id']}.pdf").status_code == 404
    sheet = handler.get(f"/api/v1/cases/{case_id}/approval-sheet.pdf")
    assert sheet.status_code == 200 and sheet.content.startswith(b"%PDF")


def test_document_templates_over_http(api: Api) -> None:
    reform = api.login(api.reform)
    kinds = {t["kind"]: t for t in reform.get("/api/v1/document-templates").json()}
    assert kinds["supplement_notice"]["source"] == "default" and "items" in kinds["supplement_notice"]["placeholders"]
    bad = reform.put("/api/v1/document-templates/supplement_notice", json={"body": "${title}\n${oops}"})
    assert bad.status_code == 422 and bad.json()["code"] == "template_invalid"
    assert bad.json()["errors"][0]["message"].startswith("第 2 行")
    preview = reform.post("/api/v1/document-templates/supplement_notice/preview", json={"body": "${title}：${items}"})
    assert preview.status_code == 200 and preview.json()["text"].startswith("一次性补正告知书")
    own = {"body": "${title}\n${number}\n${items}", "local_matter_id": api.matter_id}  # the city's would leak
    saved = reform.put("/api/v1/document-templates/supplement_notice", json=own)
    assert saved.status_code == 204, saved.text
    listed = reform.get("/api/v1/document-templates", params={"local_matter_id": api.matter_id}).json()
    assert {t["kind"]: t["source"] for t in listed}["supplement_notice"] == "matter"
    clerk = api.login("staffing.clerk.0")
    refused = clerk.put("/api/v1/document-templates/supplement_notice", json={**own, "body": "${title}"})
    assert refused.status_code == 403
