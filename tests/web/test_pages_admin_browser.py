"""The administration and account pages in a real browser, at a desktop and a phone size: the 管理 index, the
unit tree searched with the keyboard, the calendar's year view with an override set and cleared, the system
settings, a password change and a TOTP enrolment with its QR code; a unit created with a post, a membership given
through the unit picker, and the security administrator granting a role (scope by the picker) and unlocking an
account — none scrolls sideways at 375 px.
Screenshots go to docs/screenshots/ as ``<viewport>-admin*.png`` and ``<viewport>-account*.png``."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pyotp
import pytest
from sqlalchemy import delete, select

from tests.web.browser import SCREENSHOTS, VIEWPORTS
from tests.web.conftest import PASSWORD, Api
from xietong.db.base import utcnow
from xietong.db.session import read_only, unit_of_work
from xietong.directory.models import Membership, Person, Post, Unit
from xietong.security.models import Credential, RecoveryCode, RoleGrant, SecondFactor
from xietong.security.passwords import hash_password
from xietong.system.calendar import forget_calendars
from xietong.system.models import WorkdayOverride

pytestmark = [pytest.mark.committed, pytest.mark.slow]
YEAR = 2096  # far from any due time: overrides there touch no other test
NEW_PASSWORD = "Browser-Changed-2026!"


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


@pytest.fixture(scope="module")
def security_admin(api: Api) -> Person:
    with unit_of_work(api.app.state.engine) as session:
        person = Person(employee_code=f"E-bsec-{api.city.region.code}", username=f"bsec_{api.city.region.code}",
                        name="安全管理员")
        session.add(person)
        session.flush()
        session.add(RoleGrant(person_id=person.id, role="security_admin", scope_kind="all"))
        session.add(Credential(person_id=person.id, password_hash=hash_password(PASSWORD), must_change=False))
    return person


def _pick_unit(page: Any, field: str, keyword: str, unit_id: int) -> None:
    """Search the unit picker by typing, then choose the unit with the keyboard."""
    page.fill(f"#{field}-q", keyword)
    radio = f'input[name="{field}-unit"][value="{unit_id}"]'
    page.wait_for_selector(radio)
    page.focus(radio)
    page.keyboard.press("Space")
    assert page.is_checked(radio)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_units_memberships_and_accounts_in_the_browser(api: Api, base: str, browser: Any, viewport: str,
                                                       security_admin: Person) -> None:
    finance = api.city.units["finance"]
    code, name = f"{api.city.region.code}.b{viewport}", f"浏览器新建科{viewport[0]}"
    page = _login(browser, base, viewport, api.admin)
    page.goto(f"{base}/admin/directory?unit={finance.id}")
    with page.expect_navigation():
        page.click(f'a[href="/admin/directory/units/new?parent={finance.id}"]')
    assert page.is_checked(f'input[name="parent-unit"][value="{finance.id}"]')
    page.fill("#code", code)
    page.fill("#name", name)
    with page.expect_navigation():
        page.click("#unit-form button.primary")
    assert f"{finance.name} › {name}" in page.locator("main").inner_text()
    page.fill("#new-post-code", "reviewer")
    page.fill("#new-post-name", "审核岗")
    with page.expect_navigation():
        page.click("#new-post button[type=submit]")
    assert "审核岗" in page.locator("#posts").inner_text()
    page.evaluate("window.scrollTo(0, 0)")  # the unit's place in the tree, the form with the parent picker
    _shot(page, viewport, "admin-units")
    with read_only(api.app.state.engine) as session:
        unit_id = session.scalars(select(Unit.id).where(Unit.code == code)).one()

    person = api.city.person("big_data", "clerk", 0 if viewport == "desktop" else 1)
    page.goto(f"{base}/admin/directory/people/{person.id}")
    _pick_unit(page, "m-1", name, unit_id)  # the blank row after the person's one membership
    page.wait_for_selector('#m-1-post option[value="reviewer"]', state="attached")
    page.select_option("#m-1-post", "reviewer")
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[viewport]["width"]  # the picker fits
    with page.expect_navigation():
        page.click("#person-form .actions button.primary")
    with read_only(api.app.state.engine) as session:
        post_id = session.scalars(select(Post.id).where(Post.unit_id == unit_id, Post.code == "reviewer")).one()
        assert session.scalars(select(Membership).where(Membership.person_id == person.id,
                                                        Membership.post_id == post_id)).one()
    page.context.close()

    target = api.city.person("big_data", "section_chief", 0 if viewport == "desktop" else 1)
    with unit_of_work(api.app.state.engine) as session:
        credential = session.get(Credential, target.id)
        assert credential is not None
        credential.locked_until = utcnow() + timedelta(minutes=30)
    page = _login(browser, base, viewport, security_admin)
    with page.expect_navigation():
        page.click('nav.tabbar a[href="/admin/accounts"]')
    page.goto(f"{base}/admin/accounts/{target.id}")
    page.select_option("#grant-role", "supervisor")
    page.check('input[name="scope_kind"][value="unit_subtree"]')
    _pick_unit(page, "scope", name, unit_id)
    with page.expect_navigation():
        page.click("#grant-form .actions button.primary")
    assert "已授予角色" in page.locator("main").inner_text() and name in page.locator("#grants").inner_text()
    with page.expect_navigation():
        page.click("#unlock")
    assert "已解除锁定" in page.locator("main").inner_text()
    page.goto(f"{base}/admin/accounts?q={api.city.region.code}_big_data")
    assert target.name in page.locator("table.accounts").inner_text()
    _shot(page, viewport, "admin-accounts")
    page.context.close()
    with unit_of_work(api.app.state.engine) as session:  # the people as the other tests expect them
        session.execute(delete(RoleGrant).where(RoleGrant.person_id == target.id, RoleGrant.role == "supervisor"))
        session.execute(delete(Membership).where(Membership.person_id == person.id, Membership.post_id == post_id))
