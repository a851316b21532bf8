"""The administration and account pages in a real browser, at a desktop and a phone size: the 管理 index, the
unit tree searched with the keyboard, the calendar's year view with an override set and cleared, the system
settings, a password change and a TOTP enrolment with its QR code — none scrolls sideways at 375 px.
Screenshots go to docs/screenshots/ as ``<viewport>-admin*.png`` and ``<viewport>-account*.png``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pyotp
import pytest
from sqlalchemy import delete

from tests.web.browser import SCREENSHOTS, VIEWPORTS, chromium, served
from tests.web.conftest import PASSWORD, Api
from xietong.config import Settings
from xietong.db.session import unit_of_work
from xietong.directory.models import Person
from xietong.security.models import Credential, RecoveryCode, SecondFactor
from xietong.security.passwords import hash_password
from xietong.system.calendar import forget_calendars
from xietong.system.models import WorkdayOverride
from xietong.web.app import create_app

pytestmark = [pytest.mark.committed, pytest.mark.slow]
YEAR = 2096  # far from any due time: overrides there touch no other test
NEW_PASSWORD = "Browser-Changed-2026!"


@pytest.fixture(scope="module")
def base(api: Api, settings: Settings) -> Iterator[str]:
    app = create_app(settings)
    with served(app) as url:
        yield url
    app.state.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def _login(browser: Any, base: str, viewport: str, person: Person, password: str = PASSWORD) -> Any:
    context = browser.new_context(viewport=VIEWPORTS[viewport], locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(base + "/login")
    page.fill("#username", person.username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("form.stack button[type=submit]")
    return page


def _shot(page: Any, viewport: str, name: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORTS[viewport]["width"], f"{name}: {width}px wide, scrolls sideways"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{viewport}-{name}.png"))


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_administration_pages_in_the_browser(api: Api, base: str, browser: Any, viewport: str) -> None:
    page = _login(browser, base, viewport, api.root)
    page.click('nav.tabbar a[href="/admin"]')
    page.wait_for_url("**/admin")
    _shot(page, viewport, "admin")
    with page.expect_navigation():
        page.click('a[href="/admin/directory"]')
    page.focus("#unit-q")  # search the tree with the keyboard
    page.keyboard.type("财政")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    finance = api.city.units["finance"]
    with page.expect_navigation():
        page.click(f'.tree.flat a[href="/admin/directory?unit={finance.id}"]')
    assert api.city.person("finance", "clerk").name in page.locator("table.people").inner_text()
    _shot(page, viewport, "admin-directory")

    page.goto(f"{base}/admin/calendar?year={YEAR}")
    assert page.locator("table.month").count() == 12
    with page.expect_navigation():
        page.click(f'a[href="/admin/calendar?day={YEAR}-05-07"]')
    page.check("#day-panel input[name=is_working][value='0']")
    page.fill("#day-note", "浏览器设置的休息日")
    with page.expect_navigation():
        page.click("#day-panel button[type=submit]")
    assert "人工设置" in page.locator("#day-panel").inner_text()
    _shot(page, viewport, "admin-calendar")
    with page.expect_navigation():
        page.click("#day-panel button.danger")  # 清除人工设置
    assert "清除人工设置" not in page.locator("#day-panel").inner_text()

    page.goto(f"{base}/admin/settings")
    assert "口令最短长度" in page.locator("main").inner_text()
    _shot(page, viewport, "admin-settings")
    page.context.close()
    with unit_of_work(api.app.state.engine) as session:  # leave no override behind whatever happened above
        session.execute(delete(WorkdayOverride).where(WorkdayOverride.day.between(date(YEAR, 1, 1),
                                                                                  date(YEAR, 12, 31))))
    forget_calendars()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_password_change_and_totp_enrolment_in_the_browser(api: Api, base: str, browser: Any, viewport: str) -> None:
    person = api.city.person("office", "clerk", 0 if viewport == "desktop" else 1)
    try:
        page = _login(browser, base, viewport, person)
        page.click(".me a.who")  # the name in the header opens 个人设置
        page.wait_for_url("**/account")
        page.fill("#old_password", PASSWORD)
        page.fill("#new_password", "short")
        page.fill("#confirm_password", "short")
        with page.expect_navigation():
            page.click("form[action='/account/password'] button[type=submit]")
        assert "密码至少" in page.locator("#password-errors").inner_text()
        _shot(page, viewport, "account")
        page.fill("#old_password", PASSWORD)
        page.fill("#new_password", NEW_PASSWORD)
        page.fill("#confirm_password", NEW_PASSWORD)
        with page.expect_navigation():
            page.click("form[action='/account/password'] button[type=submit]")
        assert "密码已修改" in page.locator("main").inner_text()

        with page.expect_navigation():
            page.click("form[action='/account/totp'] button[type=submit]")
        assert page.locator(".qr svg").count() == 1
        _shot(page, viewport, "account-totp")
        secret = page.locator("#totp-secret").inner_text().replace(" ", "")
        page.fill("#confirm_code", pyotp.TOTP(secret).now())
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator("ol.codes li").count() == 10
        page.context.close()
    finally:
        with unit_of_work(api.app.state.engine) as session:  # the person as the other tests expect them
            session.execute(delete(RecoveryCode).where(RecoveryCode.person_id == person.id))
            session.execute(delete(SecondFactor).where(SecondFactor.person_id == person.id))
            credential = session.get(Credential, person.id)
            assert credential is not None
            credential.password_hash = hash_password(PASSWORD)
