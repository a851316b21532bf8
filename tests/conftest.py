"""Test fixtures: one migrated database per xdist worker, and sessions isolated by rollback.

SQLite always; PostgreSQL when ``XIETONG_TEST_DATABASE_URL`` is set (each worker then gets its own
database, created from that URL's server and dropped at the end).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from xietong.config import Settings, normalise_database_url
from xietong.db import migrate
from xietong.db.engine import create_db_engine

PG_ENV = "XIETONG_TEST_DATABASE_URL"


def _worker() -> str:
    """This worker's name, unique to the test run (two runs at once on one server must not share databases)."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", f"p{os.getpid()}")[:8]
    return f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{run}"


@contextmanager
def own_database(name: str, tmp: Path) -> Iterator[str]:
    """A new SQLite file in ``tmp``, or a PostgreSQL database of this run's own, dropped afterwards."""
    base = os.environ.get(PG_ENV)
    if not base:
        yield f"sqlite:///{tmp / f'{name}.db'}"
        return
    url = make_url(normalise_database_url(base))
    database = f"xietong_{name}_{_worker()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    try:
        yield url.set(database=database).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with own_database("test", tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path_factory.mktemp("data"),
        demo=True,
        secret_key="test-secret-key-that-is-long-enough-0123456789",
    )


@pytest.fixture(scope="session")
def db_engine(settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(settings)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(db_engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test (savepoints inside one outer transaction)."""
    connection = db_engine.connect()
    outer = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False, autoflush=False)
    try:
        yield db
    finally:
        db.close()
        outer.rollback()
        connection.close()
