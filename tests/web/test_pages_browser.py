"""End to end in a real browser, at a desktop (1280×800) and a phone (375×740) size: log in, apply for a matter
with a file, 补正 and resubmit, accept, claim (签收) the first step, countersign by two departments, return to an
earlier step, approve, conclude, rate — and a supervisor sees it and prints its approval sheet (审批单). Screenshots
of the main pages go to docs/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from io import BytesIO
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine

from tests.factories import joint_approval_process, publish_matter
from tests.web.browser import SCREENSHOTS, VIEWPORTS, missing_browser, served
from tests.web.conftest import PASSWORD, Api
from xietong.config import Settings
from xietong.db.session import unit_of_work
from xietong.demo.samples import pdf_bytes
from xietong.directory.models import Person
from xietong.web.app import create_app

pytestmark = [pytest.mark.committed, pytest.mark.slow]
MATERIALS = [{"code": "M01", "name": "申请函", "required": True, "formats": ["pdf", "jpg", "png"], "max_size_mb": 5}]


@pytest.fixture(scope="module")
def site(api: Api, settings: Settings, db_engine: Engine) -> Iterator[tuple[str, int]]:
    with unit_of_work(db_engine) as session:
        process = joint_approval_process(reviewers=("finance", "hr_social"))
        matter_id = publish_matter(session, api.city, process, materials=MATERIALS).id
    app = create_app(settings)
    with served(app) as base:
        yield base, matter_id
    app.state.engine.dispose()


class Flow:
    """One viewport's run: a browser context per person, screenshots named ``<viewport>-<page>.png``."""

    def __init__(self, browser: Any, base: str, viewport: str) -> None:
        self.browser, self.base, self.viewport = browser, base, viewport
        self.pages: dict[int, Any] = {}

    def as_(self, person: Person) -> Any:
        if person.id not in self.pages:
            context = self.browser.new_context(viewport=VIEWPORTS[self.viewport], locale="zh-CN")
            page = context.new_page()
            page.set_default_timeout(20_000)
            page.goto(self.base + "/login")
            if not self.pages:
                self.shot(page, "login")
            page.fill("#username", person.username)
            page.fill("#password", PASSWORD)
            with page.expect_navigation():
                page.click("form.stack button[type=submit]")
            assert page.url.endswith("/workbench")
            self.pages[person.id] = page
        return self.pages[person.id]

    def shot(self, page: Any, name: str) -> None:
        """Save a screenshot, after checking the page does not scroll sideways at this width."""
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= VIEWPORTS[self.viewport]["width"], f"{name}: {width}px wide, scrolls sideways"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{self.viewport}-{name}.png"))

    def open_case(self, person: Person, case_id: int) -> Any:
        page = self.as_(person)
        page.goto(f"{self.base}/cases/{case_id}")
        return page

    def act(self, page: Any, action: str, *, fill: dict[str, str] | None = None, check: tuple[str, ...] = (),
            shot: str | None = None, reopen: bool = True) -> None:
        """Open an action's dialog, fill it in and confirm; the page reloads with the case's new state."""
        if reopen:
            page.locator(f"button[data-action={action}]").first.click()
        dialog = page.locator("dialog[open]")
        dialog.wait_for()
        for selector, value in (fill or {}).items():
            dialog.locator(selector).fill(value)
        for selector in check:
            dialog.locator(selector).check()
        if shot:
            self.shot(page, shot)
        with page.expect_navigation():
            dialog.locator("button[type=submit]").click()
        assert "操作已完成" in page.locator("main").inner_text()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_case_from_application_to_rating_in_the_browser(api: Api, site: tuple[str, int], browser: Any,
                                                           viewport: str) -> None:
    base, matter_id = site
    flow = Flow(browser, base, viewport)
    applicant, handler = api.city.person("finance", "clerk"), api.city.person("staffing", "clerk")

    page = flow.as_(applicant)
    flow.shot(page, "workbench")
    page.goto(f"{base}/matters?region_id={api.city.region.id}")
    flow.shot(page, "hall")
    page.click(f'a[href="/matters/{matter_id}"]')
    page.wait_for_url(f"**/matters/{matter_id}")
    flow.shot(page, "matter")
    page.click("text=申请办理")
    page.fill("#f-title", f"浏览器里的申请（{viewport}）")
    page.set_input_files("#up-M01", files=[{"name": "申请函.pdf", "mimeType": "application/pdf",
                                             "buffer": pdf_bytes("browser")}])
    page.locator("#list-M01").get_by_text("申请函.pdf").wait_for()
    flow.shot(page, "apply")
    page.click("button[value=review]")
    page.get_by_text("请核对申请内容").wait_for()
    flow.shot(page, "review")
    with page.expect_navigation():
        page.click("text=提交申请")
    case_id = int(re.search(r"/cases/(\d+)", page.url).group(1))  # type: ignore[union-attr]

    desk = flow.as_(handler)
    desk.goto(f"{base}/workbench?tab=incoming")
    with desk.expect_navigation():
        desk.click(f'a[href="/cases/{case_id}"]')
    desk.click("button[data-action=supplement]")  # keyboard: Esc closes the dialog, focus goes back
    desk.locator("dialog[open]").wait_for()
    desk.wait_for_function("document.activeElement && document.activeElement.id === 'd-items'")  # focus in it
    desk.keyboard.press("Escape")
    desk.locator("dialog").wait_for(state="detached")
    desk.wait_for_function("document.activeElement && document.activeElement.dataset.action === 'supplement'")
    desk.keyboard.press("Enter")  # the focused button opens it again; an empty request is refused in place
    desk.locator("dialog[open]").wait_for()
    desk.locator("dialog[open] button[type=submit]").click()
    desk.locator("dialog[open] #err-items").wait_for()
    assert "请逐行写明需要补正的内容" in desk.locator("dialog[open]").inner_text()
    flow.act(desk, "supplement", fill={"#d-items": "请补充编制测算表"}, reopen=False)
    page = flow.open_case(applicant, case_id)
    assert "补正：请补充编制测算表" in page.content()
    flow.act(page, "resubmit", fill={"#f-title": f"浏览器里的申请（{viewport}，已补正）", "#d-note": "已补充测算表"})

    desk = flow.open_case(handler, case_id)
    flow.act(desk, "accept")
    flow.act(desk, "claim")  # 签收 the post's shared step before deciding it
    flow.act(desk, "approve", fill={"#d-opinion": "材料齐全，同意受理。"})
    flow.shot(desk, "case")

    finance, hr = api.city.person("finance", "section_chief"), api.city.person("hr_social", "section_chief")
    reviewer = flow.as_(finance)
    reviewer.goto(f"{base}/workbench")
    flow.shot(reviewer, "todo")
    with reviewer.expect_navigation():
        reviewer.click(f'a[href="/cases/{case_id}"]')
    flow.act(reviewer, "approve", fill={"#d-opinion": "财政审查通过。"})
    other = flow.open_case(hr, case_id)
    flow.act(other, "return", fill={"#d-reason": "请先核实人员名单"}, check=("input[value=accept]",), shot="dialog")

    flow.act(flow.open_case(handler, case_id), "approve", fill={"#d-opinion": "已核实，再次提交会签。"})
    flow.act(flow.open_case(finance, case_id), "approve", fill={"#d-opinion": "同意。"})
    flow.act(flow.open_case(hr, case_id), "approve", fill={"#d-opinion": "人社审查通过。"})
    leader = flow.open_case(api.city.person("staffing", "leader_in_charge"), case_id)
    flow.act(leader, "approve", fill={"#d-opinion": "同意。"})
    desk = flow.open_case(handler, case_id)
    flow.act(desk, "conclude", check=("input[value=granted]",), fill={"#d-note": "准予。"})

    page = flow.open_case(applicant, case_id)
    flow.act(page, "rate", check=("input[value=very_satisfied]",))
    text = page.locator("main").inner_text()
    assert "已办结" in text and "评价：非常满意" in text and "rate" not in page.content().split("data-action=")[-1][:8]

    watcher = flow.open_case(api.reform, case_id)
    text = watcher.locator("main").inner_text()
    assert "已办结" in text and "退回到：受理审查" in text and "意见：人社审查通过。" in text
    assert watcher.locator("button[data-action=approve]").count() == 0  # reads, may not decide
    flow.shot(watcher, "supervisor")
    sheet = watcher.request.get(base + watcher.locator("#approval-sheet").get_attribute("href"))  # 打印审批单
    assert sheet.ok and sheet.headers["content-type"] == "application/pdf"
    printed = "".join("".join(p.extract_text() for p in PdfReader(BytesIO(sheet.body())).pages).split())
    assert "审批单" in printed and "人社审查通过" in printed


def test_browser_tests_fail_in_ci_and_skip_elsewhere_when_the_browser_is_missing(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="浏览器测试无法运行"):
        missing_browser("没有找到 chromium")
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception):
        missing_browser("没有找到 chromium")
