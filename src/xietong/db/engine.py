"""SQLAlchemy engines for SQLite (WAL, BEGIN IMMEDIATE) and PostgreSQL (psycopg 3).

SQLite write transactions begin IMMEDIATE so two writers never both read and then fail to
upgrade their lock; the busy timeout makes the second one wait instead of erroring. Read-only
work uses ``readonly(engine)``, which begins DEFERRED and never blocks a writer.

WAL checkpoints (copying committed pages into the database file, with an fsync) are kept off the
request path: a committing request checkpoints only once the WAL passes ``WAL_AUTOCHECKPOINT_PAGES``
(a backstop for when no worker runs); the worker checkpoints PASSIVE-ly on every tick
(``checkpoint``), which never blocks readers or writers.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

from xietong.config import Settings

READONLY_OPTION = "xietong_readonly"
# SQLite's default is 1,000 pages (4 MB): a checkpoint, with its fsync, every hundred or so requests.
WAL_AUTOCHECKPOINT_PAGES = 10_000
# A pooled PostgreSQL connection idle longer than this is pinged before use (``_ping_when_idle``).
PING_AFTER_IDLE_SECONDS = 10.0


def create_db_engine(settings: Settings, **overrides: Any) -> Engine:
    """Build the engine for the configured database, with our SQLite pragmas when needed."""
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        return _sqlite_engine(url, settings.sqlite_busy_timeout_ms, **overrides)
    # The connect timeout keeps a request from hanging on an unreachable host — it answers 503 instead.
    options: dict[str, Any] = {
        "pool_size": settings.pool_size, "max_overflow": 10,
        "connect_args": {"connect_timeout": settings.database_connect_timeout_seconds},
    }
    options.update(overrides)
    engine = create_engine(url, **options)
    if not options.get("pool_pre_ping"):
        _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection on checkout only when it sat idle for ``PING_AFTER_IDLE_SECONDS``.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: a round trip per transaction (a tenth of an
    operation's round trips here). A connection in steady use has just proved itself; one that sat idle is
    where a database restart or a cut network hides. One that broke while in use fails its statement, and
    SQLAlchemy then invalidates the whole pool, so one request answers 503 and the next one reconnects.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE_SECONDS:
            return  # new (it just connected) or recently used
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute(";")
            dbapi_connection.rollback()  # psycopg began a transaction for the ping: end it before handing out
        except Exception as exc:  # any failure of the ping: the pool retries with a fresh connection
            raise DisconnectionError(str(exc)) from exc


def readonly(engine: Engine) -> Engine:
    """The same pool, but transactions that only read (DEFERRED on SQLite)."""
    return engine.execution_options(**{READONLY_OPTION: True})


def _sqlite_engine(url: str, busy_timeout_ms: int, **overrides: Any) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {
        "connect_args": {"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
    }
    options.update(overrides)
    engine = create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN out of pysqlite's hands so the "begin" hook below decides its kind.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        readonly_tx = connection.get_execution_options().get(READONLY_OPTION, False)
        # Straight to the driver: SQLAlchemy's execution layer would cost more than the BEGIN itself.
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            cursor.execute("BEGIN" if readonly_tx else "BEGIN IMMEDIATE")
        finally:
            cursor.close()

    return engine


def sqlite_pragmas(engine: Engine) -> dict[str, Any]:
    """The pragmas in force, for benchmarks and `xietong check` to print."""
    with engine.connect() as conn:
        return {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout", "wal_autocheckpoint")
        }


def checkpoint(engine: Engine) -> None:
    """A PASSIVE WAL checkpoint on SQLite (as much as readers allow, blocking no one); nothing elsewhere."""
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()  # outside any transaction: the connection is in autocommit mode
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
        cursor.close()
    finally:
        raw.close()
