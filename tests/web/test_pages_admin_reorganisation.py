"""机构改革 in the directory administration: the form, the plan shown item by item (nothing written), the
refusal of an incomplete split with its reasons and no 执行 button, then the execution's per-item log."""

from __future__ import annotations

import re
from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.conftest import Api, submit
from tests.web.page_client import page_login
from xietong.cases.models import Case
from xietong.db.session import read_only
from xietong.directory.models import Unit

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _form(client: TestClient, **fields: str) -> dict[str, str]:
    page = client.get("/admin/directory/reorganisation")
    assert page.status_code == 200
    found = CSRF.search(page.text)
    assert found
    return {"csrf_token": found.group(1), **fields}


def _execute_form(html: str) -> dict[str, str]:
    found = re.search(r'<form method="post" action="/admin/directory/reorganisation">(.*?)</form>', html, re.S)
    assert found, "the plan offers 确认执行"
    return {name: unescape(value) for name, value in re.findall(
        r'<input type="hidden" name="(\w+)" value="([^"]*)">', found.group(1))}


def test_only_directory_administrators_open_the_page(api: Api) -> None:
    clerk = page_login(api, "finance.clerk.0", htmx=False)
    assert clerk.get("/admin/directory/reorganisation").status_code == 403
    admin = page_login(api, api.admin, htmx=False)
    page = admin.get("/admin/directory/reorganisation")
    assert page.status_code == 200 and "改革方案" in page.text and 'for="reorg-units"' in page.text
    assert 'href="/admin/directory/reorganisation"' in admin.get("/admin/directory").text


def test_preview_refuse_then_execute_a_merge_on_the_page(api: Api) -> None:
    case_id = submit(api.login("finance.clerk.0"), api, title="改革中的申请")["id"]
    assert api.login("staffing.clerk.0").post(f"/api/v1/cases/{case_id}/accept").status_code == 200
    staffing, office = api.city.units["staffing"], api.city.units["office"]
    admin = page_login(api, api.admin, htmx=False)

    split = _form(admin, kind="split", units=staffing.code, reason="拆分",
                  successors=f"{staffing.code}.a 编制甲处\n{staffing.code}.b 编制乙处", mapping="岗位 clerk nowhere")
    refused = admin.post("/admin/directory/reorganisation/plan", data=split)
    assert refused.status_code == 200
    assert "不能办理" in refused.text and "未指定" in refused.text and "不是本次拆分的接续单位" in refused.text
    assert "确认执行" not in refused.text
    bad = admin.post("/admin/directory/reorganisation/plan", data={**split, "mapping": "部门 x y"})
    assert bad.status_code == 422 and "划分第 1 行" in bad.text

    new_code = f"{api.city.region.code}.pagemerged"
    merge = _form(admin, kind="merge", units=f"{staffing.code}\n{office.code}", reason="编委〔2026〕9号",
                  successor_code=new_code, successor_name="综合编制办公室")
    plan = admin.post("/admin/directory/reorganisation/plan", data=merge)
    assert plan.status_code == 200 and "合并方案预览" in plan.text and "确认执行" in plan.text
    assert "改革中的申请" in plan.text and "新建单位" in plan.text
    with read_only(api.app.state.engine) as session:
        assert session.scalar(select(Unit.id).where(Unit.code == new_code)) is None

    carried = _execute_form(plan.text)  # what the 确认执行 button posts: the same spec, carried in the form
    assert carried["units"] == merge["units"] and carried["successor_name"] == "综合编制办公室"
    done = admin.post("/admin/directory/reorganisation", data=carried)
    assert done.status_code == 200 and "执行结果" in done.text and "全部完成" in done.text
    with read_only(api.app.state.engine) as session:
        merged = session.scalars(select(Unit).where(Unit.code == new_code)).one()
        assert session.get(Case, case_id).handling_unit_id == merged.id  # type: ignore[union-attr]
    again = admin.post("/admin/directory/reorganisation/plan", data=merge)
    assert "已全部完成" in again.text
