"""The case page: what each person sees and may do, the dialogs' inline Chinese errors, CSRF, 404 for outsiders."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.engine.test_nodes__multi import CLERKS, sign_process
from tests.factories import publish_matter
from tests.web.conftest import Api, submit
from tests.web.page_client import page_login
from xietong.db.session import unit_of_work


def _buttons(html: str) -> set[str]:
    return set(re.findall(r'data-action="(\w+)"', html))


def _task_of(html: str, action: str) -> int:
    found = re.search(rf'/actions/{action}\?task=(\d+)"', html)
    assert found, f"no {action} button"
    return int(found.group(1))


def _post(client: TestClient, case_id: int, action: str, data: dict[str, str], task: int | None = None):  # type: ignore[no-untyped-def]
    query = f"?task={task}" if task else ""
    return client.post(f"/cases/{case_id}/actions/{action}{query}", data=data)


def test_each_person_sees_only_the_buttons_they_may_use_and_outsiders_get_404(api: Api) -> None:
    case_id = submit(api.login("finance.clerk.0"), api, title="按钮与权限")["id"]
    handler = page_login(api, "staffing.clerk.0", htmx=False).get(f"/cases/{case_id}")
    assert handler.status_code == 200 and "按钮与权限" in handler.text
    assert {"accept", "reject", "supplement"} <= _buttons(handler.text) and "withdraw" not in _buttons(handler.text)
    applicant = page_login(api, "finance.clerk.0", htmx=False).get(f"/cases/{case_id}")
    assert _buttons(applicant.text) == {"withdraw"}
    for outsider in (page_login(api, "office.clerk.0", htmx=False),
                     page_login(api, api.other.person("staffing", "clerk"), htmx=False)):
        missing = outsider.get(f"/cases/{case_id}")
        assert missing.status_code == 404 and "办件不存在或无权查看" in missing.text
        assert "按钮与权限" not in missing.text
        assert outsider.get(f"/cases/{case_id}/actions/accept").status_code == 404
    reader = page_login(api, api.reform, htmx=False).get(f"/cases/{case_id}")  # a supervisor reads, supervises
    assert reader.status_code == 200 and _buttons(reader.text) == {"supervise"}


def test_a_page_action_needs_the_csrf_token_and_changes_nothing_without_it(api: Api) -> None:
    case_id = submit(api.login("finance.clerk.0"), api)["id"]
    forged = page_login(api, "staffing.clerk.0", htmx=False)
    refused = forged.post(f"/cases/{case_id}/actions/accept", headers={"HX-Request": "true"})
    assert refused.status_code == 403 and "CSRF" in refused.text and "<html" not in refused.text
    refused = forged.post(f"/cases/{case_id}/actions/accept", data={"csrf_token": "nope"})
    assert refused.status_code == 403
    assert api.login("staffing.clerk.0").get(f"/api/v1/cases/{case_id}").json()["case"]["status"] == "submitted"
    client = page_login(api, "staffing.clerk.0")
    done = _post(client, case_id, "accept", {})
    assert done.status_code == 204 and done.headers["HX-Redirect"] == f"/cases/{case_id}?done=accept"
    assert api.login("staffing.clerk.0").get(f"/api/v1/cases/{case_id}").json()["case"]["status"] == "accepted"


def test_deciding_with_a_saved_phrase_and_returning_with_errors_shown_next_to_the_field(api: Api) -> None:
    case_id = submit(api.login("finance.clerk.0"), api, title="退回测试")["id"]
    handler_api = api.login("staffing.clerk.0")
    handler_api.post("/api/v1/opinions", json={"text": "材料齐全，同意受理。"})
    handler_api.post(f"/api/v1/cases/{case_id}/accept")
    handler = page_login(api, "staffing.clerk.0")
    page = handler.get(f"/cases/{case_id}", headers={"HX-Request": ""})
    task = _task_of(page.text, "approve")
    dialog = handler.get(f"/cases/{case_id}/actions/approve?task={task}")
    assert dialog.status_code == 200 and 'data-phrase="材料齐全，同意受理。"' in dialog.text
    assert '<label for="d-opinion">审批意见</label>' in dialog.text
    assert _post(handler, case_id, "approve", {"opinion": "材料齐全，同意受理。"}, task).status_code == 204
    timeline = handler.get(f"/cases/{case_id}", headers={"HX-Request": ""}).text
    assert "意见：材料齐全，同意受理。" in timeline and 'data-node="accept" data-state="done"' in timeline
    assert 'data-node="review_finance" data-state="current"' in timeline

    reviewer = page_login(api, "finance.section_chief.0")
    review = _task_of(reviewer.get(f"/cases/{case_id}", headers={"HX-Request": ""}).text, "return")
    form = reviewer.get(f"/cases/{case_id}/actions/return?task={review}")
    assert 'value="accept"' in form.text and "受理审查" in form.text
    wrong = _post(reviewer, case_id, "return", {"target": "accept", "reason": ""}, review)
    assert wrong.status_code == 422 and 'id="err-reason">请填写退回理由' in wrong.text
    assert 'value="accept" checked' in wrong.text  # what was chosen stays chosen
    typed = _post(reviewer, case_id, "return", {"target": "", "reason": "测算表缺页"}, review)
    assert typed.status_code == 422 and "请选择退回到哪个环节" in typed.text and "测算表缺页</textarea>" in typed.text
    assert _post(reviewer, case_id, "return", {"target": "accept", "reason": "测算表缺页"}, review).status_code == 204
    back = handler.get(f"/cases/{case_id}", headers={"HX-Request": ""}).text
    assert "退回到：受理审查" in back and 'data-node="accept" data-state="current"' in back


def test_supplement_then_the_applicant_corrects_the_form_and_resubmits(api: Api) -> None:
    case_id = submit(api.login("finance.clerk.0"), api, title="补正前")["id"]
    handler = page_login(api, "staffing.clerk.0")
    assert _post(handler, case_id, "supplement", {"items": "缺少编制测算表\n缺少会议纪要"}).status_code == 204
    applicant = page_login(api, "finance.clerk.0")
    page = applicant.get(f"/cases/{case_id}", headers={"HX-Request": ""}).text
    assert "补正：缺少编制测算表" in page and _buttons(page) == {"resubmit"}
    dialog = applicant.get(f"/cases/{case_id}/actions/resubmit")
    assert 'name="f.title" value="补正前"' in dialog.text
    bad = _post(applicant, case_id, "resubmit", {"f.title": "补", "note": "已补充"})
    assert bad.status_code == 422 and 'value="补"' in bad.text and "已补充</textarea>" in bad.text
    assert _post(applicant, case_id, "resubmit", {"f.title": "补正后的申请", "note": "已补充"}).status_code == 204
    detail = api.login("staffing.clerk.0").get(f"/api/v1/cases/{case_id}").json()
    assert detail["case"]["status"] == "submitted" and detail["form"]["title"] == "补正后的申请"


def test_add_signers_is_offered_on_a_countersign_step_only_and_copy_picks_people(api: Api, db_engine: Engine) -> None:
    with unit_of_work(db_engine) as session:
        matter_id = publish_matter(session, api.city, sign_process(CLERKS, {"mode": "all"})).id
    body = {"local_matter_id": matter_id, "applicant_unit_id": api.city.units["hr_social"].id,
            "form": {"title": "会签加签"}}
    case_id = api.login("hr_social.clerk.0").post("/api/v1/cases", json=body).json()["id"]
    api.login("staffing.clerk.0").post(f"/api/v1/cases/{case_id}/accept")
    signer = page_login(api, "finance.clerk.0")
    page = signer.get(f"/cases/{case_id}", headers={"HX-Request": ""}).text
    assert {"approve", "add_signers"} <= _buttons(page)
    task = _task_of(page, "add_signers")
    picker = signer.get(f"/cases/{case_id}/actions/add_signers?task={task}").text
    extra = api.city.person("hr_social", "clerk", 1)
    assert f'value="{extra.id}"' in picker and "<legend>选择人员</legend>" in picker
    assert _post(signer, case_id, "add_signers", {}, task).status_code == 422
    assert _post(signer, case_id, "add_signers", {"person_ids": str(extra.id)}, task).status_code == 204
    now = page_login(api, extra).get(f"/cases/{case_id}", headers={"HX-Request": ""}).text
    assert "approve" in _buttons(now) and "加签" in now
    plain = page_login(api, "staffing.clerk.0").get(f"/cases/{case_id}", headers={"HX-Request": ""}).text
    assert "add_signers" not in _buttons(plain)  # not a signer of the step
    copy = signer.get(f"/cases/{case_id}/actions/copy").text
    office = api.city.person("staffing", "leader_in_charge")
    assert f'value="{office.id}"' in copy
    assert _post(signer, case_id, "copy", {"person_ids": str(office.id), "note": "请阅"}).status_code == 204
    copied = page_login(api, office, htmx=False).get("/workbench?tab=copied").text
    assert f'href="/cases/{case_id}"' in copied and "未阅" in copied


def test_special_procedure_extension_and_delegation_from_the_case_page(api: Api) -> None:
    case_id = submit(api.login("finance.clerk.0"), api, title="特别程序与委派")["id"]
    handler = page_login(api, "staffing.clerk.0")
    assert _post(handler, case_id, "accept", {}).status_code == 204
    page = page_login(api, "staffing.clerk.0", htmx=False).get(f"/cases/{case_id}").text
    assert "start_special_procedure" in _buttons(page) and "extend" not in _buttons(page)
    missing = _post(handler, case_id, "start_special_procedure", {"kind": "hearing", "reason": "涉及公共利益"})
    assert missing.status_code == 422 and "请填写法律依据" in missing.text and "涉及公共利益" in missing.text
    done = _post(handler, case_id, "start_special_procedure",
                 {"kind": "hearing", "reason": "涉及公共利益", "basis": "行政许可法第四十六条", "planned_days": "5"})
    assert done.status_code == 204, done.text
    assert _post(handler, case_id, "end_special_procedure", {"outcome": "听证完毕"}).status_code == 204
    leader = page_login(api, "staffing.leader_in_charge.0")
    leader_page = page_login(api, "staffing.leader_in_charge.0", htmx=False).get(f"/cases/{case_id}").text
    assert "extend" in _buttons(leader_page)
    assert _post(leader, case_id, "extend", {"days": "10", "reason": "情况复杂"}).status_code == 204

    page = page_login(api, "staffing.clerk.0", htmx=False).get(f"/cases/{case_id}").text
    task = _task_of(page, "claim")
    assert _post(handler, case_id, "claim", {}, task).status_code == 204
    colleague = api.city.person("staffing", "clerk", 1)
    assert _post(handler, case_id, "delegate", {"person_id": str(colleague.id)}, task).status_code == 204
    lent = page_login(api, "staffing.clerk.1", htmx=False).get(f"/cases/{case_id}").text
    assert "hand_back" in _buttons(lent)
    back = _post(page_login(api, "staffing.clerk.1"), case_id, "hand_back", {"opinion": "材料无误"}, task)
    assert back.status_code == 204
    status = api.login("staffing.clerk.0").get(f"/api/v1/cases/{case_id}").json()
    assert status["case"]["status"] == "accepted" and status["task_actions"][str(task)][0] == "complete"
