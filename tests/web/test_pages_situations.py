"""办理情形 on the pages: the matter editor saves a draft's situations (refused with every problem), the
application wizard asks the questions first and shows only what applies, and the case page shows the answers."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine, select

from tests.factories import linear_process, post_rule
from tests.web.conftest import Api
from tests.web.page_client import csrf_headers, page_login
from xietong.cases.models import Case
from xietong.catalog import drafts
from xietong.catalog import service as catalog
from xietong.catalog.models import MatterVersion
from xietong.db.session import unit_of_work

FORM: dict[str, Any] = {"schema": "xietong.form/1", "fields": [
    {"key": "title", "label": "申请事由", "type": "text", "required": True},
    {"key": "branch", "label": "分支机构名称", "type": "text", "required": True},
]}
MATERIALS = [{"code": "M01", "name": "营业执照", "formats": ["pdf"]},
             {"code": "M02", "name": "分支机构证明", "formats": ["pdf"]}]
SITUATIONS = '''{"questions": [{"key": "scope", "label": "申请主体", "options": [
  {"value": "head", "label": "总部", "steps": ["review"]},
  {"value": "branch", "label": "分支机构", "fields": ["branch"], "materials": [{"code": "M02", "required": false}]}
]}]}'''


def _draft(api: Api, db_engine: Engine) -> tuple[int, int]:
    with unit_of_work(db_engine) as session:
        base = catalog.create_base_matter(session, code=f"SITP-{api.city.region.code}", name="情形申请",
                                          kind="promised", legal_limit_days=10)
        local = catalog.create_local_matter(session, base=base, region_id=api.city.region.id,
                                            handling_unit_id=api.city.units["staffing"].id)
        version = catalog.draft_version(
            session, local=local, form_schema=FORM, materials=MATERIALS, promised_limit_days=5,
            process=linear_process(("review", post_rule("finance")), ("sign", post_rule("hr_social"))))
        return local.id, version.id


def test_situations_from_the_editor_to_the_wizard_and_the_case_page(api: Api, db_engine: Engine) -> None:
    matter_id, version_id = _draft(api, db_engine)
    admin = page_login(api, api.admin)
    url = f"/admin/matters/{matter_id}/versions/{version_id}/situations"
    bad = admin.post(url, data={"situations": SITUATIONS.replace('"review"', '"ghost"')})
    assert bad.status_code == 422 and "选择了不存在的环节：ghost" in bad.text
    assert admin.post(url, data={"situations": "{"}).status_code == 422
    saved = admin.post(url, data={"situations": SITUATIONS}, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    with unit_of_work(db_engine) as session:
        version = session.get(MatterVersion, version_id)
        assert version is not None and version.situations["questions"][0]["key"] == "scope"
        drafts.publish_draft(session, version=version)

    client = page_login(api, "office.clerk.0", htmx=False)
    token = csrf_headers(client)["x-csrf-token"]
    first = client.get(f"/matters/{matter_id}/apply")
    assert first.status_code == 200 and 'name="sit.scope"' in first.text and 'name="f.title"' not in first.text
    unit = str(api.city.units["office"].id)
    unanswered = client.post(f"/matters/{matter_id}/apply", data={"csrf_token": token, "step": "situations"})
    assert unanswered.status_code == 200 and 'name="sit.scope"' in unanswered.text
    head = client.post(f"/matters/{matter_id}/apply", data={"csrf_token": token, "step": "situations",
                                                            "sit.scope": "head"})
    assert 'name="f.title"' in head.text and 'name="f.branch"' not in head.text  # only what applies
    assert "分支机构证明" not in head.text and "办理情形：" in head.text
    branch = client.post(f"/matters/{matter_id}/apply", data={"csrf_token": token, "step": "situations",
                                                              "sit.scope": "branch"})
    assert 'name="f.branch"' in branch.text and "分支机构证明" in branch.text
    assert 'type="hidden" name="sit.scope" value="branch"' in branch.text

    filled = {"csrf_token": token, "applicant_unit_id": unit, "f.title": "设立分支", "f.branch": "东区分部",
              "sit.scope": "branch", "step": "review"}
    review = client.post(f"/matters/{matter_id}/apply", data=filled)
    assert review.status_code == 200 and "请核对申请内容" in review.text, review.text
    final = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', review.text))
    final.pop("step", None)
    done = client.post(f"/matters/{matter_id}/apply", data=final, follow_redirects=False)
    assert done.status_code == 303, done.text
    case_id = int(done.headers["location"].split("/")[2].split("?")[0])
    case = client.get(f"/cases/{case_id}")
    assert 'id="case-situation"' in case.text and "申请主体：分支机构" in case.text
    assert "_situation" not in case.text
    with unit_of_work(db_engine) as session:
        form = session.scalar(select(Case.form).where(Case.id == case_id))
    assert form["_situation"] == {"answers": {"scope": "branch"}, "skipped": ["review"]}
