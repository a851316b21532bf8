"""PostgreSQL connections: a pooled connection idle for a while is pinged on checkout, a busy one is not; lookups
run in autocommit."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from tests.conftest import PG_ENV
from xietong.config import Settings
from xietong.db import engine as db_engine_module
from xietong.db.engine import create_db_engine
from xietong.db.session import lookups, unit_of_work

pytestmark = pytest.mark.skipif(not os.environ.get(PG_ENV), reason="the idle ping is PostgreSQL's")


def _backend(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(settings: Settings, pid: int) -> None:
    """Drop the backend as a server restart would, from a connection outside the pool under test."""
    killer = create_engine(settings.resolved_database_url, poolclass=NullPool)
    with killer.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    killer.dispose()


def _own_engine(settings: Settings) -> Engine:
    return create_db_engine(settings, pool_size=1, max_overflow=0)  # one pooled connection: always the same


def test_an_idle_connection_the_server_dropped_is_replaced_before_use(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _own_engine(settings)
    try:
        pid = _backend(engine)
        _terminate(settings, pid)  # the pooled connection is dead now
        monkeypatch.setattr(db_engine_module, "PING_AFTER_IDLE_SECONDS", 0.0)  # every pooled connection is "idle"
        assert _backend(engine) != pid  # the ping found it dead and the pool connected afresh
    finally:
        engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged_and_a_dead_one_fails_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _own_engine(settings)
    try:
        monkeypatch.setattr(db_engine_module, "PING_AFTER_IDLE_SECONDS", 3600.0)
        pid = _backend(engine)
        assert _backend(engine) == pid  # the same connection again, with no ping in between to replace it
        _terminate(settings, pid)
        with pytest.raises(DBAPIError) as failed:  # unpinged, the dead connection fails its statement …
            _backend(engine)
        assert failed.value.connection_invalidated
        assert _backend(engine) != pid  # … and the pool, invalidated, reconnects for the next one
    finally:
        engine.dispose()


def test_lookups_run_without_a_transaction_and_leave_the_pool_transactional(db_engine: Engine) -> None:
    with lookups(db_engine) as session:
        conn = session.connection()
        assert conn.connection.dbapi_connection.autocommit  # type: ignore[union-attr]  # no BEGIN, no COMMIT
        assert session.execute(text("SELECT 1")).scalar_one() == 1
    with unit_of_work(db_engine) as session:  # the same pooled connection is back to transactions
        assert not session.connection().connection.dbapi_connection.autocommit  # type: ignore[union-attr]
