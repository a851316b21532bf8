"""The second factor over HTTP (production mode): required for administrators, optional for others;
initial passwords must be changed before anything else."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORD, Api
from xietong.config import Settings
from xietong.db.base import utcnow
from xietong.db.session import unit_of_work
from xietong.directory.models import Person
from xietong.security.models import Credential
from xietong.security.passwords import hash_password
from xietong.web.app import create_app


@pytest.fixture(scope="module")
def prod(api: Api, settings: Settings) -> Iterator[FastAPI]:
    """The same database served in production mode (no demo allowances)."""
    app = create_app(settings.model_copy(update={"demo": False}))
    yield app
    app.state.engine.dispose()


def _login(app: FastAPI, person: Person, *, password: str = PASSWORD, code: str | None = None):  # type: ignore[no-untyped-def]
    client = TestClient(app)
    body = {"username": person.username, "password": password, **({"totp_code": code} if code else {})}
    response = client.post("/api/v1/auth/login", json=body)
    if response.status_code == 200:
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return client, response


def _enrol(client: TestClient) -> tuple[pyotp.TOTP, list[str]]:
    started = client.post("/api/v1/auth/totp")
    assert started.status_code == 201, started.text
    secret = started.json()["secret"]
    assert started.json()["otpauth_uri"].startswith("otpauth://totp/") and secret in started.json()["otpauth_uri"]
    generator = pyotp.TOTP(secret)
    assert client.post("/api/v1/auth/totp/confirm", json={"code": "000000"}).json()["code"] == "bad_totp"
    confirmed = client.post("/api/v1/auth/totp/confirm", json={"code": generator.now()})
    assert confirmed.status_code == 200, confirmed.text
    return generator, confirmed.json()["recovery_codes"]


def test_an_administrator_must_enrol_then_log_in_with_the_code(api: Api, prod: FastAPI) -> None:
    admin, response = _login(prod, api.admin)
    assert response.status_code == 200 and response.json()["second_factor_required"] is True
    blocked = admin.get("/api/v1/directory/units")
    assert blocked.status_code == 403 and blocked.json()["code"] == "totp_enrolment_required"
    generator, recovery = _enrol(admin)
    assert len(recovery) == 10 and len(set(recovery)) == 10
    assert admin.get("/api/v1/directory/units").status_code == 200  # this session proved the factor
    assert admin.get("/api/v1/auth/me").json()["second_factor"] is True

    _, needed = _login(prod, api.admin)
    assert needed.status_code == 401 and needed.json()["code"] == "totp_required"
    _, wrong = _login(prod, api.admin, code="123456" if generator.now() != "123456" else "654321")
    assert wrong.status_code == 401 and wrong.json()["code"] == "bad_totp"
    later = generator.at(utcnow() + timedelta(seconds=30))  # the next step: within the allowed drift
    again, ok = _login(prod, api.admin, code=later)
    assert ok.status_code == 200 and ok.json()["second_factor_required"] is False
    assert again.get("/api/v1/directory/units").status_code == 200
    _, replayed = _login(prod, api.admin, code=later)
    assert replayed.status_code == 401 and replayed.json()["code"] == "bad_totp"  # a code works once

    _, by_recovery = _login(prod, api.admin, code=recovery[0])
    assert by_recovery.status_code == 200
    _, spent = _login(prod, api.admin, code=recovery[0])
    assert spent.status_code == 401 and spent.json()["code"] == "bad_totp"
    removed = again.request("DELETE", "/api/v1/auth/totp", json={"code": recovery[1]})
    assert removed.status_code == 403 and removed.json()["code"] == "totp_required_for_admins"
    with unit_of_work(prod.state.engine) as session:  # a wrong code is a failed log-in (earlier ones were reset)
        assert session.get(Credential, api.admin.id).failed_count == 1  # type: ignore[union-attr]


def test_a_clerk_may_enrol_and_remove_a_second_factor(api: Api, prod: FastAPI) -> None:
    clerk_person = api.city.people["office.clerk.1"]
    clerk, response = _login(prod, clerk_person)
    assert response.json()["second_factor_required"] is False
    assert clerk.get("/api/v1/tasks/todo").status_code == 200
    _generator, recovery = _enrol(clerk)
    _, needed = _login(prod, clerk_person)
    assert needed.json()["code"] == "totp_required"
    removed = clerk.request("DELETE", "/api/v1/auth/totp", json={"code": recovery[0]})
    assert removed.status_code == 204, removed.text
    _, plain = _login(prod, clerk_person)
    assert plain.status_code == 200 and plain.json()["second_factor"] is False


def test_an_initial_password_must_be_changed_before_anything_else(api: Api, prod: FastAPI) -> None:
    person = api.city.people["office.clerk.0"]
    with unit_of_work(prod.state.engine) as session:
        session.get(Credential, person.id).must_change = True  # type: ignore[union-attr]
    client, response = _login(prod, person)
    assert response.status_code == 200 and response.json()["must_change_password"] is True
    blocked = client.get("/api/v1/tasks/todo")
    assert blocked.status_code == 403 and blocked.json()["code"] == "password_change_required"
    assert client.get("/api/v1/auth/me").json()["must_change_password"] is True
    new_password = "Changed-2026-pass!"
    changed = client.post("/api/v1/auth/password", json={"old_password": PASSWORD, "new_password": new_password})
    assert changed.status_code == 204, changed.text
    assert client.get("/api/v1/tasks/todo").status_code == 200
    assert client.get("/api/v1/auth/me").json()["must_change_password"] is False
    with unit_of_work(prod.state.engine) as session:  # put it back for the module's other tests
        session.get(Credential, person.id).password_hash = hash_password(PASSWORD)  # type: ignore[union-attr]


def test_the_demo_keeps_its_allowances(api: Api) -> None:
    admin = api.login(api.root)  # the module's app runs in demo mode
    assert admin.get("/api/v1/directory/units").status_code == 200
