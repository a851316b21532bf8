"""Log-in and log-out pages: the session cookie, demo log-ins only in demo mode, session timeout, CSRF on posts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, update

from tests.web.conftest import PASSWORD, Api
from tests.web.page_client import csrf_headers, page_login
from xietong.config import Settings
from xietong.db.base import utcnow
from xietong.db.session import unit_of_work
from xietong.directory.models import Person
from xietong.security.auth import digest
from xietong.security.models import Credential, WebSession
from xietong.security.passwords import hash_password
from xietong.web.app import create_app
from xietong.web.deps import SESSION_COOKIE


def test_pages_need_a_log_in_and_come_back_after_it(api: Api) -> None:
    client = api.client()
    away = client.get("/workbench?tab=done", follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"] == "/login?next=%2Fworkbench%3Ftab%3Ddone"
    form = client.get(away.headers["location"])
    assert form.status_code == 200 and 'name="next" value="/workbench?tab=done"' in form.text
    assert '<label for="username">用户名</label>' in form.text and '<label for="password">密码</label>' in form.text
    person = api.city.person("finance", "clerk")
    back = client.post("/login", data={"username": person.username, "password": PASSWORD,
                                       "next": "/workbench?tab=done"}, follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == "/workbench?tab=done"
    assert client.get("/workbench?tab=done").status_code == 200


def test_a_wrong_password_is_told_in_chinese_next_to_the_form_and_keeps_the_user_name(api: Api) -> None:
    person = api.city.person("finance", "clerk", 1)
    refused = api.client().post("/login", data={"username": person.username, "password": "wrong"})
    assert refused.status_code == 401
    assert "用户名或密码错误" in refused.text and f'value="{person.username}"' in refused.text
    assert SESSION_COOKIE not in refused.cookies


def test_next_never_leads_off_the_site(api: Api) -> None:
    person = api.city.person("finance", "clerk")
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        done = api.client().post("/login", data={"username": person.username, "password": PASSWORD, "next": target},
                                 follow_redirects=False)
        assert done.headers["location"] == "/workbench"


def test_logout_is_a_post_with_the_csrf_field_and_ends_the_session(api: Api) -> None:
    client = page_login(api, "finance.clerk.0", htmx=False)
    page = client.get("/workbench")
    assert 'action="/logout"' in page.text
    forged = client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert forged.status_code == 403 and "403 · 无权操作" in forged.text  # a Chinese page, not problem+json
    token = csrf_headers(client)["x-csrf-token"]
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/workbench", follow_redirects=False).status_code == 303


def test_an_idle_session_times_out_to_the_log_in_page(api: Api) -> None:
    client = page_login(api, "finance.clerk.0", htmx=False)
    cookie = client.cookies[SESSION_COOKIE]
    with unit_of_work(api.app.state.engine) as session:
        session.execute(update(WebSession).where(WebSession.id == digest(cookie))
                        .values(expires_at=utcnow() - timedelta(minutes=1)))
    away = client.get("/workbench", follow_redirects=False)
    assert away.status_code == 303 and "expired=1" in away.headers["location"]
    assert "登录已过期" in client.get(away.headers["location"]).text
    fragment = client.get("/workbench?tab=done", headers={"HX-Request": "true",
                                                          "HX-Current-URL": "http://testserver/workbench"})
    assert fragment.status_code == 200 and fragment.headers["HX-Redirect"].startswith("/login?next=%2Fworkbench")


@pytest.fixture
def demo_person(api: Api) -> Iterator[str]:
    with unit_of_work(api.app.state.engine) as session:
        session.add(Person(employee_code="E-demo-auditor", username="auditor", name="审计管理员"))
    yield "auditor"
    with unit_of_work(api.app.state.engine) as session:
        session.execute(delete(Person).where(Person.username == "auditor"))


def test_demo_log_ins_are_listed_only_in_demo_mode(api: Api, settings: Settings, demo_person: str) -> None:
    assert settings.demo
    assert "演示账号" in api.client().get("/login").text and "<code>auditor</code> 审计管理员" in \
        api.client().get("/login").text
    production = create_app(settings.model_copy(update={"demo": False}))
    try:
        assert "演示账号" not in TestClient(production).get("/login").text
    finally:
        production.state.engine.dispose()



def test_an_account_with_a_second_factor_is_asked_for_its_code_on_the_log_in_page(api: Api) -> None:
    with unit_of_work(api.app.state.engine) as session:
        person = Person(employee_code="E-totp-page", username="totp_page", name="动态码用户")
        session.add(person)
        session.flush()
        session.add(Credential(person_id=person.id, password_hash=hash_password(PASSWORD), must_change=False))
    client = TestClient(api.app)
    logged = client.post("/api/v1/auth/login", json={"username": "totp_page", "password": PASSWORD})
    client.headers["X-CSRF-Token"] = logged.json()["csrf_token"]
    secret = client.post("/api/v1/auth/totp").json()["secret"]
    recovery = client.post("/api/v1/auth/totp/confirm", json={"code": pyotp.TOTP(secret).now()}).json()
    [code, *_] = recovery["recovery_codes"]

    page = api.client()
    asked = page.post("/login", data={"username": "totp_page", "password": PASSWORD})
    assert asked.status_code == 401 and 'name="totp_code"' in asked.text and "动态验证码" in asked.text
    assert SESSION_COOKIE not in asked.cookies
    wrong = page.post("/login", data={"username": "totp_page", "password": PASSWORD, "totp_code": "000000"})
    assert wrong.status_code == 401 and 'name="totp_code"' in wrong.text
    done = page.post("/login", data={"username": "totp_page", "password": PASSWORD, "totp_code": code},
                     follow_redirects=False)
    assert done.status_code == 303 and SESSION_COOKIE in done.cookies
