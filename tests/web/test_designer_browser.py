"""The matter editor in a real browser, at a desktop and a phone size: open a draft, edit its process in the
vendored bpmn-js modeler (select a step, set its name, 会签 and limit in our properties panel, append a step
from the context pad, save and see the problems, delete it, save clean), edit its form (add a select and a field
shown only for one of its options, preview at phone width), publish — under the page's CSP, with no errors."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from tests.factories import linear_process, post_rule, publish_matter
from tests.web.browser import SCREENSHOTS, VIEWPORTS, htmx_settled
from tests.web.conftest import PASSWORD, Api
from xietong.catalog.models import LocalMatter, MatterVersion, ProcessDefinition
from xietong.db.session import unit_of_work

pytestmark = [pytest.mark.committed, pytest.mark.slow]


def _shot(page: Any, viewport: str, name: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORTS[viewport]["width"], f"{name}: {width}px wide, scrolls sideways"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{viewport}-{name}.png"))


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_edit_a_process_and_a_form_in_the_browser_and_publish(
    api: Api, base: str, browser: Any, db_engine: Engine, viewport: str
) -> None:
    with unit_of_work(db_engine) as session:
        process = linear_process(("accept", post_rule("staffing", "clerk")), ("approve", post_rule("staffing")))
        matter_id = publish_matter(session, api.city, process).id
    context = browser.new_context(viewport=VIEWPORTS[viewport], locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20_000)
    problems: list[str] = []
    # Console errors (a CSP violation among them) and failed loads; the browser's own favicon request is not
    # the page's (it shows only as a console line, never as a response), so that line is left to the listener.
    page.on("console", lambda m: problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.add_init_script("window.__csp = []; document.addEventListener('securitypolicyviolation', "
                         "function (e) { window.__csp.push(e.violatedDirective + ' ' + e.blockedURI); });")
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    page.goto(base + "/login")
    page.fill("#username", api.admin.username)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("form.stack button[type=submit]")
    page.goto(f"{base}/admin/matters?keyword=")
    with page.expect_navigation():
        page.click(f'a[href="/admin/matters/{matter_id}"]')
    with page.expect_navigation():
        page.click("#open-draft")
    assert "已建立草稿" in page.inner_text("main")

    # --- the process, in bpmn-js --------------------------------------------------------------------------
    with page.expect_navigation():
        page.click("text=流程设计")
    page.wait_for_selector("#process-designer[data-ready]")
    page.click('g.djs-element.djs-shape[data-element-id="approve"]', force=True)
    page.wait_for_selector("#p-rule")
    page.fill("#p-name", "局长审批")
    page.select_option("#p-mode", "all")
    page.fill("#p-limit", "2")
    page.click("#apply-props")
    page.wait_for_selector("#props-applied")
    assert page.input_value("#p-name") == "局长审批"
    page.click('.djs-context-pad .entry[data-action="append.append-task"]')
    page.keyboard.press("Escape")  # the new step's label editor
    page.click("#save-process")
    page.wait_for_selector("#save-result")
    result = page.inner_text("#save-result")
    assert "处问题" in result and "未指定类型的任务" in result, result  # an unsupported element, by its line
    page.click('.djs-context-pad .entry[data-action="replace"]')  # the new step becomes a user task
    page.click('.djs-popup [data-id="replace-with-user-task"]')
    page.click("#save-process")
    page.wait_for_selector("#save-result:has-text('没有设置办理人')")
    page.wait_for_selector("#p-post")  # the replaced step is selected: assign it in our panel
    page.fill("#p-name", "复核")
    page.fill("#p-post", "clerk")
    page.click("#apply-props")
    page.click("#save-process")
    page.wait_for_selector("#save-result:has-text('出线')")
    result = page.inner_text("#save-result")
    assert "“局长审批”：办理环节必须恰有一条出线" in result and "“复核”：办理环节必须恰有一条出线" in result, result
    _shot(page, viewport, "process-designer")
    page.click('.djs-context-pad .entry[data-action="delete"]')
    page.click("#save-process")
    page.wait_for_selector("#save-result:has-text('校验通过')")
    assert page.evaluate("window.__csp") == []  # bpmn-js runs under the strict CSP, no inline style or eval

    # --- the form -----------------------------------------------------------------------------------------
    page.goto(f"{base}/admin/matters/{matter_id}")
    with page.expect_navigation():
        page.click("text=表单设计")
    page.select_option("#add-type", "select")
    page.fill("#add-key", "kind")
    page.fill("#add-label", "申请类型")
    with htmx_settled(page, "/fields"):
        page.click("#fd-add button[type=submit]")
    page.wait_for_selector("#fd-editor-title:has-text('申请类型')")
    page.fill("#e-options", "new=新办\nchange=变更")
    with htmx_settled(page, "/fields/kind"):  # the live preview alone would show the options before the save
        page.click("#fd-save")
    page.wait_for_selector("#preview-body select#f-kind option[value=change]", state="attached")
    page.select_option("#add-type", "text")
    page.fill("#add-key", "reason")
    page.fill("#add-label", "变更原因")
    with htmx_settled(page, "/fields"):
        page.click("#fd-add button[type=submit]")
    page.wait_for_selector("#fd-editor-title:has-text('变更原因')")
    page.select_option("#e-visible-field", "kind")
    page.fill("#e-visible-values", "change")
    page.fill("#e-label", "变更的原因")  # the preview follows the typing before anything is saved
    page.wait_for_selector("#preview-body label:has-text('变更的原因')", state="attached")
    with htmx_settled(page, "/fields/reason"):
        page.click("#fd-save")
    page.wait_for_selector("#preview-body [data-visible-field='f.kind']", state="attached")
    page.wait_for_selector("#f-reason", state="hidden")  # shown only for 变更
    page.select_option("#preview-body #f-kind", "change")
    page.wait_for_selector("#f-reason", state="visible")
    page.check("#pv-phone")
    assert page.evaluate("document.getElementById('preview-frame').getBoundingClientRect().width") <= 375
    _shot(page, viewport, "form-designer")

    # --- publish --------------------------------------------------------------------------------------------
    page.goto(f"{base}/admin/matters/{matter_id}")
    with page.expect_navigation():
        page.click("#publish")
    assert "已发布" in page.inner_text("main")
    _shot(page, viewport, "matter-editor")
    with unit_of_work(db_engine) as session:
        local = session.get(LocalMatter, matter_id)
        assert local is not None and local.status == "published"
        version = session.query(MatterVersion).filter_by(local_matter_id=matter_id, status="published").one()
        body = session.get(ProcessDefinition, version.process_definition_id).body  # type: ignore[union-attr]
        approve = next(n for n in body["nodes"] if n["id"] == "approve")
        assert approve["name"] == "局长审批" and approve["limit_days"] == 2 and approve["multi"]["mode"] == "all"
        assert approve["assign"] == post_rule("staffing")
        keys = [f["key"] for f in version.form_schema["fields"]]
        assert keys[-2:] == ["kind", "reason"]
    assert not problems, problems
    context.close()
