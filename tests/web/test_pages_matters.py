"""事项大厅 and the application wizard: find a matter, read its page, apply with a prefilled form and an
uploaded file, see every problem next to its field in Chinese with nothing typed lost, review, submit."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine

from tests.factories import joint_approval_process, publish_matter
from tests.web.conftest import Api, submit
from tests.web.page_client import csrf_headers, page_login
from xietong.db.session import unit_of_work
from xietong.demo.samples import pdf_bytes, png_bytes

MATERIALS = [{"code": "M01", "name": "申请函", "required": True, "formats": ["pdf"], "max_size_mb": 1}]
FORM = {
    "schema": "xietong.form/1",
    "fields": [
        {"key": "title", "label": "申请事由", "type": "text", "required": True, "min_length": 2, "max_length": 200},
        {"key": "contact", "label": "联系人", "type": "text", "required": True, "max_length": 20},
        {"key": "amount", "label": "金额", "type": "number", "required": False, "min": 0, "unit": "万元"},
        {"key": "letter", "label": "申请函", "type": "file", "required": True, "material": "M01"},
    ],
}


@pytest.fixture(scope="module")
def matter_id(api: Api, db_engine: Engine) -> int:
    with unit_of_work(db_engine) as session:
        return publish_matter(session, api.city, joint_approval_process(), form=FORM, materials=MATERIALS).id


def test_the_hall_finds_the_matter_and_its_page_shows_materials_limits_process_and_sample(api: Api,
                                                                                         matter_id: int) -> None:
    client = page_login(api, "finance.clerk.0", htmx=False)
    found = client.get(f"/matters?region_id={api.city.region.id}")
    assert found.status_code == 200 and f'href="/matters/{matter_id}"' in found.text
    assert f'href="/matters/{api.matter_id}"' in client.get(f"/matters?region_id={api.city.region.id}").text
    page = client.get(f"/matters/{matter_id}")
    assert page.status_code == 200
    assert "申请函" in page.text and "≤ 1 MB" in page.text and "承诺 5 个工作日" in page.text
    assert 'data-node="accept"' in page.text and "申请表样表" in page.text
    assert f'href="/matters/{matter_id}/apply"' in page.text
    assert client.get("/matters/999999").status_code == 404


def _apply_page(client, matter_id: int) -> str:  # type: ignore[no-untyped-def]
    page = client.get(f"/matters/{matter_id}/apply")
    assert page.status_code == 200
    return page.text


def test_apply_with_an_upload_errors_inline_then_review_and_submit(api: Api, matter_id: int) -> None:
    client = page_login(api, "finance.clerk.1", htmx=False)
    token = csrf_headers(client)["x-csrf-token"]
    form = _apply_page(client, matter_id)
    person = api.city.person("finance", "clerk", 1)
    assert f'name="f.contact" value="{person.name}"' in form  # prefilled from the person
    assert 'accept=".pdf"' in form and '<label for="f-title">申请事由' in form

    wrong_type = client.post(f"/matters/{matter_id}/uploads/M01", files={"upload.M01": ("图.png", png_bytes())},
                             headers={"x-csrf-token": token})
    assert wrong_type.status_code == 422 and "只接受 pdf" in wrong_type.text
    too_big = client.post(f"/matters/{matter_id}/uploads/M01",
                          files={"upload.M01": ("大.pdf", pdf_bytes("x" * (2 << 20)))}, headers={"x-csrf-token": token})
    assert too_big.status_code == 413
    no_csrf = client.post(f"/matters/{matter_id}/uploads/M01", files={"upload.M01": ("函.pdf", pdf_bytes("a"))})
    assert no_csrf.status_code == 403
    uploaded = client.post(f"/matters/{matter_id}/uploads/M01", files={"upload.M01": ("申请函.pdf", pdf_bytes("a"))},
                           headers={"x-csrf-token": token})
    assert uploaded.status_code == 200 and "申请函.pdf" in uploaded.text
    attachment = int(re.search(r'name="m.M01" value="(\d+)"', uploaded.text).group(1))  # type: ignore[union-attr]

    unit = str(api.city.units["finance"].id)
    typed = {"csrf_token": token, "applicant_unit_id": unit, "f.title": "申", "f.contact": "张三", "f.amount": "-1",
             "step": "review"}
    refused = client.post(f"/matters/{matter_id}/apply", data=typed)
    assert refused.status_code == 422
    assert re.search(r'id="err-f-title">[^<]*2', refused.text) and 'id="err-f-amount">不能小于 0' in refused.text
    assert 'name="f.title" value="申"' in refused.text and 'name="f.contact" value="张三"' in refused.text
    assert 'id="err-m-M01"' not in refused.text  # the review checks the form; materials are checked at submit

    good = {**typed, "f.title": "申请专项经费", "f.amount": "12.5", "m.M01": str(attachment)}
    review = client.post(f"/matters/{matter_id}/apply", data=good)
    assert review.status_code == 200 and "请核对申请内容" in review.text and "申请函.pdf" in review.text
    final = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', review.text))
    final.pop("step", None)
    done = client.post(f"/matters/{matter_id}/apply", data=final, follow_redirects=False)
    assert done.status_code == 303, done.text
    case_id = int(done.headers["location"].split("/")[2].split("?")[0])
    case = client.get(f"/cases/{case_id}")
    assert "申请专项经费" in case.text and "申请函.pdf" in case.text and "已申请" in case.text


def test_submit_refusals_come_back_to_the_form_and_the_next_application_is_prefilled(api: Api,
                                                                                     matter_id: int) -> None:
    client = page_login(api, "hr_social.clerk.0", htmx=False)
    token = csrf_headers(client)["x-csrf-token"]
    unit = str(api.city.units["hr_social"].id)
    missing_file = client.post(f"/matters/{matter_id}/apply", data={
        "csrf_token": token, "applicant_unit_id": unit, "f.title": "缺材料的申请", "f.contact": "李四"})
    assert missing_file.status_code == 422 and "请上传“申请函”" in missing_file.text
    assert 'value="缺材料的申请"' in missing_file.text
    # a submitted application of the same matter prefills the next one
    applicant = api.login("hr_social.clerk.0")
    submit(applicant, api, title="上一次的申请", unit="hr_social")
    assert 'name="f.title" value="上一次的申请"' in _apply_page(client, api.matter_id)


def test_a_draft_is_kept_on_the_server_resumed_listed_and_gone_after_submit(api: Api, matter_id: int) -> None:
    client = page_login(api, "office.clerk.0", htmx=False)
    token = csrf_headers(client)["x-csrf-token"]
    unit = str(api.city.units["office"].id)
    uploaded = client.post(f"/matters/{matter_id}/uploads/M01", files={"upload.M01": ("草稿函.pdf", pdf_bytes("d"))},
                           headers={"x-csrf-token": token})
    assert uploaded.headers.get("HX-Trigger") == "uploaded"  # the wizard saves its draft with the new file
    attachment = re.search(r'name="m.M01" value="(\d+)"', uploaded.text).group(1)  # type: ignore[union-attr]
    typed = {"csrf_token": token, "applicant_unit_id": unit, "f.title": "草稿里的事由", "f.contact": "王五",
             "m.M01": attachment}
    saved = client.post(f"/matters/{matter_id}/apply", data={**typed, "step": "draft"})  # 保存草稿 without JS
    assert saved.status_code == 200 and "草稿已于" in saved.text and 'value="草稿里的事由"' in saved.text
    auto = client.post(f"/matters/{matter_id}/draft", data={**typed, "f.title": "自动保存的事由"},
                       headers={"HX-Request": "true", "x-csrf-token": token})
    assert auto.status_code == 200 and "草稿已于" in auto.text and "<html" not in auto.text
    again = client.get(f"/matters/{matter_id}/apply").text  # coming back: the draft, not the prefill
    assert 'id="draft-resumed"' in again and 'value="自动保存的事由"' in again and "草稿函.pdf" in again
    mine = client.get("/workbench?tab=mine").text
    assert 'id="drafts-title"' in mine and f'href="/matters/{matter_id}/apply"' in mine
    other = page_login(api, "office.clerk.1", htmx=False)  # a colleague never sees it
    assert "自动保存的事由" not in other.get(f"/matters/{matter_id}/apply").text
    assert 'id="drafts-title"' not in other.get("/workbench?tab=mine").text
    review = client.post(f"/matters/{matter_id}/apply", data={**typed, "step": "review"})
    final = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', review.text))
    final.pop("step", None)
    done = client.post(f"/matters/{matter_id}/apply", data=final, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert 'id="draft-resumed"' not in client.get(f"/matters/{matter_id}/apply").text  # deleted with the submission
    assert 'id="drafts-title"' not in client.get("/workbench?tab=mine").text


def test_a_draft_may_be_deleted(api: Api, matter_id: int) -> None:
    client = page_login(api, "office.clerk.1", htmx=False)
    token = csrf_headers(client)["x-csrf-token"]
    client.post(f"/matters/{matter_id}/apply", data={"csrf_token": token, "f.title": "不要了", "step": "draft"})
    assert 'id="draft-resumed"' in client.get(f"/matters/{matter_id}/apply").text
    gone = client.post(f"/matters/{matter_id}/draft/delete", data={"csrf_token": token}, follow_redirects=False)
    assert gone.status_code == 303
    assert 'id="draft-resumed"' not in client.get(f"/matters/{matter_id}/apply").text
    twice = client.post(f"/matters/{matter_id}/draft/delete", data={"csrf_token": token})
    assert twice.status_code == 404
