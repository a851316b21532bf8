"""Outside demo mode the app refuses to start with demo accounts, demo data or a placeholder secret."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.conftest import own_database
from xietong.config import Settings
from xietong.db import migrate
from xietong.db.base import utcnow
from xietong.db.engine import create_db_engine
from xietong.db.session import unit_of_work
from xietong.demo.seed import DEMO_PASSWORD
from xietong.directory.models import Person
from xietong.security.models import Credential
from xietong.security.passwords import hash_password
from xietong.system.health import DEMO_BUILT_KEY, secret_problem
from xietong.system.models import SystemSetting
from xietong.web.app import UnsafeProduction, create_app

STRONG = "kR7#pQ2!vX9@mL4$wN8%zT1^bH6&cJ3*"


@pytest.fixture
def production(tmp_path: Path) -> Iterator[tuple[Settings, Engine]]:
    with own_database("production", tmp_path) as url:
        settings = Settings(database_url=url, data_dir=tmp_path, demo=False, secret_key=STRONG)
        engine = create_db_engine(settings)
        migrate.upgrade(engine)
        yield settings, engine
        engine.dispose()


def _starts(settings: Settings) -> bool:
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            return client.get("/readyz").status_code == 200
    finally:
        app.state.engine.dispose()


def test_a_demo_account_with_the_demo_password_stops_production(production: tuple[Settings, Engine]) -> None:
    settings, engine = production
    assert _starts(settings)
    with unit_of_work(engine) as session:
        person = Person(employee_code="E-admin", username="admin", name="管理员")
        session.add(person)
        session.flush()
        session.add(Credential(person_id=person.id, password_hash=hash_password(DEMO_PASSWORD), must_change=False))
    with pytest.raises(UnsafeProduction, match="admin"):
        _starts(settings)
    assert _starts(settings.model_copy(update={"demo": True}))  # the demo itself is fine
    with unit_of_work(engine) as session:
        session.get(Credential, person.id).password_hash = hash_password("An0ther-Passw0rd!")  # type: ignore[union-attr]
    assert _starts(settings)


def test_demo_data_stops_production(production: tuple[Settings, Engine]) -> None:
    settings, engine = production
    with unit_of_work(engine) as session:
        session.add(SystemSetting(key=DEMO_BUILT_KEY, value="2026-12-01T00:00:00", updated_at=utcnow()))
    with pytest.raises(UnsafeProduction, match="演示城市"):
        _starts(settings)


def test_a_placeholder_secret_stops_production(production: tuple[Settings, Engine]) -> None:
    settings, _engine = production
    placeholder = settings.model_copy(update={"secret_key": "please-change-me-to-something-long-enough"})
    with pytest.raises(UnsafeProduction, match="XIETONG_SECRET_KEY"):
        _starts(placeholder)
    assert secret_problem(settings.model_copy(update={"secret_key": "a" * 40})) is not None
    assert secret_problem(settings) is None
