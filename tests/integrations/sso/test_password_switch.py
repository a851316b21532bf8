"""Local passwords switched off (``XIETONG_PASSWORD_LOGIN=false``): the page and the API refuse a password for
everyone but the break-glass list's system administrators; the log-in page offers only single sign-on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.integrations.sso.conftest import Sso
from tests.web.conftest import PASSWORD
from xietong.web.app import create_app


@pytest.fixture(scope="module")
def locked_down_app(sso: Sso) -> Iterator[FastAPI]:
    api = sso.api
    settings = sso.settings.model_copy(update={
        "password_login": False, "password_break_glass": f" {api.root.username}, {api.auditor.username} "})
    app = create_app(settings)
    app.state.settings = settings
    yield app
    app.state.engine.dispose()


@pytest.fixture
def locked_down(locked_down_app: FastAPI) -> TestClient:
    return TestClient(locked_down_app)  # a fresh cookie jar per test


def test_password_log_in_is_refused_to_everyone_not_on_the_list(sso: Sso, locked_down: TestClient) -> None:
    clerk = sso.api.city.people["finance.clerk.0"]
    answer = locked_down.post("/api/v1/auth/login", json={"username": clerk.username, "password": PASSWORD})
    assert answer.status_code == 403 and answer.json()["code"] == "password_login_disabled"
    unknown = locked_down.post("/api/v1/auth/login", json={"username": "nobody-at-all", "password": "x"})
    assert unknown.status_code == 403 and unknown.json()["code"] == "password_login_disabled"
    page = locked_down.post("/login", data={"username": clerk.username, "password": PASSWORD},
                            follow_redirects=False)
    assert page.status_code == 403 and "已关闭密码登录" in page.text
    refusals = sso.audits("auth.login_refused.password_login_disabled")
    assert clerk.username in [r.detail.get("username") for r in refusals]  # refused before any look-up: by name


def test_the_break_glass_system_administrator_still_gets_in(sso: Sso, locked_down: TestClient) -> None:
    root = sso.api.root
    answer = locked_down.post("/api/v1/auth/login", json={"username": root.username, "password": PASSWORD})
    assert answer.status_code == 200 and answer.json()["person_id"] == root.id
    # listed, but not a system administrator: the list cannot open passwords to anyone else
    auditor = sso.api.auditor
    refused = locked_down.post("/api/v1/auth/login", json={"username": auditor.username, "password": PASSWORD})
    assert refused.status_code == 403 and refused.json()["code"] == "password_login_disabled"
    wrong = locked_down.post("/api/v1/auth/login", json={"username": root.username, "password": "wrong-password"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "bad_credentials"


def test_the_log_in_page_shows_only_single_sign_on(locked_down: TestClient) -> None:
    page = locked_down.get("/login")
    assert page.status_code == 200
    assert "统一身份认证登录" in page.text and 'href="/sso/login?next=' in page.text
    assert 'name="password"' not in page.text and "应急登录" in page.text
    emergency = locked_down.get("/login?local=1")
    assert 'name="password"' in emergency.text and "仅限应急的系统管理员" in emergency.text


def test_with_passwords_on_the_page_offers_both(sso: Sso) -> None:
    page = sso.browser().get(f"{sso.base}/login")
    assert "统一身份认证登录" in page.text and 'name="password"' in page.text
