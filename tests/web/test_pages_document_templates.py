"""文书模板 editor page: administrators only, preview with sample values, errors named by line and nothing saved."""

from __future__ import annotations

from sqlalchemy import select

from tests.web.conftest import Api, submit
from tests.web.page_client import page_login
from xietong.db.session import unit_of_work
from xietong.documents.models import DocumentTemplate

BASE = "/admin/documents/templates"


def _saved(api: Api, kind: str) -> list[str]:
    """This test's matter's own templates (a city template would leak into other tests sharing the database)."""
    with unit_of_work(api.app.state.engine) as session:
        return list(session.scalars(select(DocumentTemplate.body).where(
            DocumentTemplate.kind == kind, DocumentTemplate.local_matter_id == api.matter_id)))


def test_an_administrator_previews_and_saves_a_template(api: Api) -> None:
    client = page_login(api, api.reform)
    listing = client.get(BASE, headers={"HX-Request": ""})
    assert listing.status_code == 200 and "一次性补正告知书" in listing.text
    assert f'href="{BASE}/supplement_notice"' in listing.text and "系统默认" in listing.text
    mine = f"?local_matter_id={api.matter_id}"
    editor = client.get(f"{BASE}/supplement_notice{mine}", headers={"HX-Request": ""})
    assert editor.status_code == 200 and "${items}" in editor.text and 'hx-post="' in editor.text
    shown = client.post(f"{BASE}/supplement_notice/preview", data={"body": "${title}：${case_number}"})
    assert shown.status_code == 200
    assert "一次性补正告知书：XT33110020261202000001" in shown.text and "<html" not in shown.text
    own = "${title}\n${number}\n致${applicant_unit}：\n${items}"
    saved = client.post(f"{BASE}/supplement_notice", data={"body": own, "local_matter_id": api.matter_id},
                        follow_redirects=False)
    assert saved.status_code == 303 and "saved=1" in saved.headers["location"]
    assert _saved(api, "supplement_notice") == [own]
    after = client.get(saved.headers["location"], headers={"HX-Request": ""}).text
    assert "模板已保存" in after and "本事项模板" in after and "致${applicant_unit}：" in after


def test_errors_are_shown_with_their_line_and_nothing_is_rendered_or_saved(api: Api) -> None:
    before = _saved(api, "acceptance_notice")
    client = page_login(api, api.reform)
    shown = client.post(f"{BASE}/supplement_notice/preview", data={"body": "${title}\n正文\n${oops} 与 $5"})
    assert shown.status_code == 200 and "2 处错误" in shown.text
    assert "第 3 行：未知的字段 oops" in shown.text and "第 3 行：“$”后应为" in shown.text
    assert "一次性补正告知书" not in shown.text  # no half-rendered preview
    refused = client.post(f"{BASE}/acceptance_notice", data={"body": "${title}\n${nope}",
                                                                "local_matter_id": api.matter_id})
    assert refused.status_code == 422 and "第 2 行：未知的字段 nope" in refused.text and "未保存" in refused.text
    assert "${nope}" in refused.text  # the text typed is kept for correcting
    assert _saved(api, "acceptance_notice") == before


def test_only_administrators_reach_the_editor(api: Api) -> None:
    before = _saved(api, "supplement_notice")
    clerk = page_login(api, "staffing.clerk.0")
    assert clerk.get(BASE, headers={"HX-Request": ""}).status_code == 403
    assert clerk.post(f"{BASE}/supplement_notice",
                      data={"body": "${title}", "local_matter_id": api.matter_id}).status_code == 403
    assert _saved(api, "supplement_notice") == before
    anonymous = api.client().get(BASE, follow_redirects=False)
    assert anonymous.status_code in (302, 303) and "/login" in anonymous.headers["location"]
    assert page_login(api, api.reform).get(f"{BASE}/no_such_kind", headers={"HX-Request": ""}).status_code == 404


def test_the_case_page_shows_the_supplement_window_until_acceptance(api: Api) -> None:
    case_id = submit(api.login("finance.clerk.0"), api, title="补正期限页面测试")["id"]
    handler = page_login(api, "staffing.clerk.0")
    waiting = handler.get(f"/cases/{case_id}", headers={"HX-Request": ""}).text
    assert 'id="supplement-window"' in waiting and "一次性补正告知期限" in waiting and "即为受理" in waiting
    window = api.login("staffing.clerk.0").get(f"/api/v1/cases/{case_id}/documents").json()["supplement_window"]
    assert window is not None and not window["passed"]
    api.login("staffing.clerk.0").post(f"/api/v1/cases/{case_id}/accept")
    accepted = handler.get(f"/cases/{case_id}", headers={"HX-Request": ""}).text
    assert 'id="supplement-window"' not in accepted
