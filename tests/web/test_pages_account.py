"""个人设置 pages in production mode: a forced change of the initial password leads there, TOTP enrolment with
the QR code and recovery codes, turning it off where allowed — all through plain form posts as a browser sends."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORD, Api
from xietong.config import Settings
from xietong.db.session import unit_of_work
from xietong.directory.models import Person
from xietong.security.models import Credential
from xietong.security.passwords import hash_password
from xietong.web.app import create_app

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SECRET = re.compile(r'<code id="totp-secret">([A-Z2-7 ]+)</code>')


@pytest.fixture(scope="module")
def prod(api: Api, settings: Settings) -> Iterator[FastAPI]:
    """The same database served in production mode (no demo allowances)."""
    app = create_app(settings.model_copy(update={"demo": False}))
    yield app
    app.state.engine.dispose()


def _login(app: FastAPI, person: Person, *, password: str = PASSWORD, code: str = "") -> TestClient:
    client = TestClient(app)
    data = {"username": person.username, "password": password, **({"totp_code": code} if code else {})}
    response = client.post("/login", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


def _csrf(client: TestClient) -> str:
    found = CSRF.search(client.get("/account").text)
    assert found
    return found.group(1)


def test_an_initial_password_leads_to_the_account_page_until_changed(api: Api, prod: FastAPI) -> None:
    person = api.city.people["office.clerk.1"]
    with unit_of_work(prod.state.engine) as session:
        session.get(Credential, person.id).must_change = True  # type: ignore[union-attr]
    client = _login(prod, person)
    blocked = client.get("/workbench", follow_redirects=False)
    assert blocked.status_code == 303 and blocked.headers["location"] == "/account"
    htmx = client.get("/workbench", headers={"HX-Request": "true"})
    assert htmx.headers.get("HX-Redirect") == "/account"
    page = client.get("/account")
    assert page.status_code == 200 and 'id="restriction"' in page.text and "初始密码" in page.text
    token = _csrf(client)
    weak = client.post("/account/password", data={"csrf_token": token, "old_password": PASSWORD,
                                                   "new_password": "short", "confirm_password": "short"})
    assert weak.status_code == 422 and "密码至少" in weak.text and 'aria-invalid="true"' in weak.text
    mismatch = client.post("/account/password", data={"csrf_token": token, "old_password": PASSWORD,
                                                       "new_password": "Another-2026!", "confirm_password": "x"})
    assert mismatch.status_code == 422 and "两次输入的新密码不一致" in mismatch.text
    fresh = {"new_password": "Another-2026!", "confirm_password": "Another-2026!"}
    wrong = client.post("/account/password", data={"csrf_token": token, "old_password": "nope", **fresh})
    assert wrong.status_code == 422 and "原密码不正确" in wrong.text
    no_csrf = client.post("/account/password", data={"old_password": PASSWORD, "new_password": "Another-2026!",
                                                      "confirm_password": "Another-2026!"})
    assert no_csrf.status_code == 403
    changed = client.post("/account/password", follow_redirects=False, data={
        "csrf_token": token, "old_password": PASSWORD, "new_password": "Another-2026!",
        "confirm_password": "Another-2026!"})
    assert changed.status_code == 303 and changed.headers["location"] == "/account?done=password"
    assert "密码已修改" in client.get("/account?done=password").text
    assert client.get("/workbench").status_code == 200  # the restriction is gone with the initial password
    _login(prod, person, password="Another-2026!")
    with unit_of_work(prod.state.engine) as session:  # leave the city's password as the other tests expect
        session.get(Credential, person.id).password_hash = hash_password(PASSWORD)  # type: ignore[union-attr]


def test_an_administrator_enrols_with_the_qr_code_and_keeps_the_factor(api: Api, prod: FastAPI) -> None:
    client = _login(prod, api.auditor)
    assert client.get("/workbench", follow_redirects=False).headers["location"] == "/account"
    page = client.get("/account").text
    assert "管理员须绑定动态验证码" in page and "开始绑定" in page
    token = _csrf(client)
    started = client.post("/account/totp", data={"csrf_token": token})
    assert started.status_code == 200 and "<svg" in started.text and 'class="segno"' in started.text
    secret = SECRET.search(started.text).group(1).replace(" ", "")  # type: ignore[union-attr]
    bad = client.post("/account/totp/confirm", data={"csrf_token": token, "code": "000000"})
    assert bad.status_code == 422 and "动态验证码不正确" in bad.text
    confirmed = client.post("/account/totp/confirm", data={"csrf_token": token, "code": pyotp.TOTP(secret).now()})
    assert confirmed.status_code == 200 and "只显示这一次" in confirmed.text
    codes = re.findall(r"<li><code>([^<]+)</code></li>", confirmed.text)
    assert len(codes) == 10
    assert client.get("/workbench").status_code == 200  # this session proved the factor
    after = client.get("/account").text
    assert "已绑定动态验证码" in after and "剩余可用恢复码 10 个" in after and "不能解除绑定" in after
    refused = client.post("/account/totp/remove", data={"csrf_token": token, "code": codes[0]})
    assert refused.status_code == 403 and "管理员必须使用动态验证码" in refused.text
    again = _login(prod, api.auditor, code=codes[1])  # a recovery code logs in once
    assert again.get("/workbench").status_code == 200
    assert "剩余可用恢复码 9 个" in again.get("/account").text


def test_a_clerk_may_enrol_and_turn_the_factor_off(api: Api, prod: FastAPI) -> None:
    client = _login(prod, api.city.people["office.clerk.0"])
    token = _csrf(client)
    started = client.post("/account/totp", data={"csrf_token": token})
    generator = pyotp.TOTP(SECRET.search(started.text).group(1).replace(" ", ""))  # type: ignore[union-attr]
    confirmed = client.post("/account/totp/confirm", data={"csrf_token": token, "code": generator.now()})
    assert confirmed.status_code == 200
    codes = re.findall(r"<li><code>([^<]+)</code></li>", confirmed.text)
    twice = client.post("/account/totp", data={"csrf_token": token})
    assert twice.status_code == 409 and "已经绑定了动态验证码" in twice.text
    assert 'action="/account/totp/remove"' in client.get("/account").text
    wrong = client.post("/account/totp/remove", data={"csrf_token": token, "code": "123"})
    assert wrong.status_code == 422 and "不正确" in wrong.text
    removed = client.post("/account/totp/remove", follow_redirects=False, data={"csrf_token": token, "code": codes[0]})
    assert removed.status_code == 303 and removed.headers["location"] == "/account?done=totp_removed"
    after = client.get("/account?done=totp_removed").text
    assert "已解除动态验证码绑定" in after and "开始绑定" in after
