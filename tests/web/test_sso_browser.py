"""Single sign-on in a real browser at desktop (1280×800) and phone (375×740) size, against the OpenID provider
stand-in the demo server mounts itself (``/standins/oidc``): the log-in page offers 统一身份认证登录, the provider's
form takes an employee code, the callback lands on the workbench logged in as that person — no CSP violation, no
script error, no sideways scrolling. Inside the messaging app (phone), the 免登 page takes the code the messaging
stand-in hands out in place of the app's JS API and its script posts it by itself. Screenshots go to
docs/screenshots/{desktop,phone}-sso-login.png and phone-sso-dingtalk.png."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.web.browser import SCREENSHOTS, VIEWPORTS, served
from tests.web.conftest import Api
from xietong.config import Settings
from xietong.standins import messaging, oidc
from xietong.web.app import create_app

pytestmark = [pytest.mark.committed]


@pytest.fixture(scope="module")
def site(api: Api, settings: Settings) -> Iterator[str]:
    app = create_app(settings.model_copy(update={"demo": True}))
    with served(app) as base:
        # the demo points the adapters at its own port, known only now that it is served
        app.state.settings = app.state.settings.model_copy(update={
            **oidc.settings_for(f"{base}/standins/oidc"), **messaging.settings_for(f"{base}/standins/messaging")})
        yield base
    app.state.engine.dispose()


def _fits(page: Any, viewport: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORTS[viewport]["width"], f"{page.url}: {width}px wide, scrolls sideways"


@pytest.mark.parametrize(("viewport", "key"), [("desktop", "finance.section_chief.1"), ("phone", "office.clerk.2")])
def test_single_sign_on_through_the_demo_provider(site: str, browser: Any, api: Api, viewport: str,
                                                  key: str) -> None:
    person = api.city.people.get(key) or api.city.people["office.clerk.0"]
    context = browser.new_context(viewport=VIEWPORTS[viewport], locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(30_000)
    problems: list[str] = []
    # Console errors (a CSP violation among them) and failed loads; the browser's own favicon request shows only
    # as a console line, never as a response, so failed loads are left to the response listener.
    page.on("console", lambda m: problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.add_init_script("window.__csp = []; document.addEventListener('securitypolicyviolation', "
                         "function (e) { window.__csp.push(e.violatedDirective + ' ' + e.blockedURI); });")
    page.goto(site + "/login?next=/notifications")
    sso = page.get_by_role("link", name="统一身份认证登录")
    assert sso.is_visible()
    _fits(page, viewport)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{viewport}-sso-login.png"))
    sso.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")  # by keyboard, like anyone who does not use a mouse
    assert "/standins/oidc/authorize" in page.url
    page.get_by_label("或输入工号").fill(person.employee_code)
    _fits(page, viewport)
    with page.expect_navigation(url=f"{site}/notifications"):
        page.get_by_role("button", name="登录").click()
    assert page.locator(".me .who").inner_text() == person.name
    assert page.evaluate("window.__csp") == [] and not problems, problems
    context.close()


def test_a_code_matching_nobody_gets_the_chinese_refusal(site: str, browser: Any) -> None:
    context = browser.new_context(viewport=VIEWPORTS["phone"], locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(site + "/login")
    with page.expect_navigation():
        page.get_by_role("link", name="统一身份认证登录").click()
    page.get_by_label("或输入工号").fill("E-NOBODY-0000")
    page.get_by_role("button", name="登录").click()
    page.wait_for_selector("#sso-error")
    assert "没有工号为 E-NOBODY-0000 的人员" in page.locator("#sso-error").inner_text()
    assert page.locator("#sso-error").get_attribute("data-code") == "sso_no_person"
    _fits(page, "phone")
    context.close()


def test_mian_deng_in_the_messaging_app_on_a_phone(site: str, browser: Any, api: Api) -> None:
    person = api.city.people["staffing.clerk.0"]
    context = browser.new_context(viewport=VIEWPORTS["phone"], locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(site + "/sso/dingtalk?next=/notifications")
    assert "请在浙政钉应用内打开本页" in page.locator("#dingtalk-status").inner_text()
    _fits(page, "phone")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "phone-sso-dingtalk.png"))
    with page.expect_navigation():
        page.locator("#dingtalk-demo").click()
    page.get_by_label("工号").fill(person.employee_code)
    # the stand-in sends the browser back with ?authCode=…; dingtalk.js posts it without a click
    with page.expect_navigation(url=f"{site}/workbench"):
        page.get_by_role("button", name="获取免登码").click()
    assert page.locator(".me .who").inner_text() == person.name
    assert not errors, errors
    context.close()
