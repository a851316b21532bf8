"""CLI fixtures: each test gets a fresh migrated database of its own, which the commands reach through the
environment (``XIETONG_DATABASE_URL``, ``XIETONG_DATA_DIR``) exactly as in production.

The schema is migrated once per worker into a template (a SQLite file that is copied; a PostgreSQL database
used as ``TEMPLATE`` when ``XIETONG_TEST_DATABASE_URL`` is set), since the commands commit for real.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

import xietong.cli.directory
import xietong.cli.users  # noqa: F401  (registers the command groups on the root app)
from tests.conftest import PG_ENV, _worker
from xietong.cli import app
from xietong.config import Settings, normalise_database_url
from xietong.db import migrate
from xietong.db.engine import create_db_engine

_numbers = itertools.count(1)


@dataclass
class CliDb:
    """A fresh database for one test: the environment for the runner and an engine for checking results."""

    env: dict[str, str]
    engine: Engine
    data_dir: Path

    def run(self, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(app, list(args), env={**self.env, **(env or {})}, input=input)


@pytest.fixture(scope="session")
def cli_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated template: a SQLite file path, or the name of a PostgreSQL template database."""
    base = os.environ.get(PG_ENV)
    if not base:
        path = tmp_path_factory.mktemp("cli-template") / "xietong.db"
        _migrate(f"sqlite:///{path}")
        yield str(path)
        return
    name = f"xietong_cli_tpl_{_worker()}"
    with _pg_admin(base) as admin:
        admin.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.execute(text(f'CREATE DATABASE "{name}"'))
    _migrate(_pg_url(base, name))
    yield name
    with _pg_admin(base) as admin:
        admin.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def cli_db(cli_template: str, tmp_path: Path) -> Iterator[CliDb]:
    base = os.environ.get(PG_ENV)
    if not base:
        path = tmp_path / "xietong.db"
        shutil.copyfile(cli_template, path)
        url = f"sqlite:///{path}"
    else:
        name = f"xietong_cli_{_worker()}_{next(_numbers)}"
        with _pg_admin(base) as admin:
            admin.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{cli_template}"'))
        url = _pg_url(base, name)
    engine = create_db_engine(Settings(database_url=url, data_dir=tmp_path))
    env = {"XIETONG_DATABASE_URL": url, "XIETONG_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    yield CliDb(env=env, engine=engine, data_dir=tmp_path)
    engine.dispose()
    if base:
        with _pg_admin(base) as admin:
            admin.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _migrate(url: str) -> None:
    engine = create_db_engine(Settings(database_url=url))
    migrate.upgrade(engine)
    engine.dispose()  # a template database must have no connections; a SQLite file is checkpointed


def _pg_url(base: str, name: str) -> str:
    return make_url(normalise_database_url(base)).set(database=name).render_as_string(hide_password=False)


@contextmanager
def _pg_admin(base: str) -> Iterator[Connection]:
    """An AUTOCOMMIT connection to the test server, for CREATE and DROP DATABASE."""
    engine = create_engine(normalise_database_url(base), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()
