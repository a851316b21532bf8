"""A committed little city served over the real app: log in as anyone in it with ``api.login(key)``.

These tests commit to the worker's database (the app opens its own transactions), so every query a
test makes is scoped to its own city, region or matter.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.factories import City, joint_approval_process, make_city, publish_matter
from tests.web.browser import chromium, served
from xietong.config import Settings
from xietong.db.session import unit_of_work
from xietong.directory.models import Person
from xietong.security.models import Credential, RoleGrant
from xietong.security.passwords import hash_password
from xietong.web.app import create_app

PASSWORD = "Xietong-2026!"


@dataclass
class Api:
    app: FastAPI
    city: City
    other: City  # a second region whose people must never see the first one's cases
    matter_id: int
    admin: Person  # system administrator over ``city``'s region
    reform: Person  # reform office, everything
    root: Person  # system administrator over everything
    auditor: Person  # audit administrator: reads the audit trail, nothing else

    def client(self) -> TestClient:
        return TestClient(self.app)

    def login(self, key: str | Person, *, password: str = PASSWORD) -> TestClient:
        """A client logged in as a person of the city (``"finance.clerk.0"``) with its CSRF header set."""
        person = key if isinstance(key, Person) else self.city.people[key]
        client = self.client()
        response = client.post("/api/v1/auth/login", json={"username": person.username, "password": password})
        assert response.status_code == 200, response.text
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        return client


def _add_person(session, city: City, username: str, role: str, scope: str) -> Person:  # type: ignore[no-untyped-def]
    person = Person(employee_code=f"E-{username}", username=username, name=username)
    session.add(person)
    session.flush()
    session.add(
        RoleGrant(
            person_id=person.id, role=role, scope_kind=scope,
            scope_region_id=city.region.id if scope == "region" else None,
        )
    )
    return person


@pytest.fixture(scope="module")
def api(settings: Settings, db_engine: Engine) -> Iterator[Api]:
    with unit_of_work(db_engine) as session:
        city, other = make_city(session), make_city(session)
        matter = publish_matter(session, city, joint_approval_process())
        admin = _add_person(session, city, f"admin_{city.region.code}", "system_admin", "region")
        reform = _add_person(session, city, f"reform_{city.region.code}", "reform_office", "all")
        root = _add_person(session, city, f"root_{city.region.code}", "system_admin", "all")
        auditor = _add_person(session, city, f"auditor_{city.region.code}", "audit_admin", "all")
        password_hash = hash_password(PASSWORD)
        people = [*city.people.values(), *other.people.values(), admin, reform, root, auditor]
        session.add_all(Credential(person_id=p.id, password_hash=password_hash, must_change=False) for p in people)
    app = create_app(settings)
    yield Api(app, city, other, matter.id, admin, reform, root, auditor)
    app.state.engine.dispose()


@pytest.fixture(scope="module")
def base(api: Api, settings: Settings) -> Iterator[str]:
    """The app over ``api``'s city served by a real uvicorn on a loopback port, for the browser tests: its URL."""
    app = create_app(settings)
    with served(app) as url:
        yield url
    app.state.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright, once per module (skips locally, fails in CI, when it is missing)."""
    with chromium() as launched:
        yield launched


def submit(client: TestClient, api: Api, *, title: str = "申请增加编制", unit: str = "finance") -> dict[str, object]:
    response = client.post(
        "/api/v1/cases",
        json={"local_matter_id": api.matter_id, "applicant_unit_id": api.city.units[unit].id, "form": {"title": title}},
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]
