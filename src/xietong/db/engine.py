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

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from xietong.config import Settings

READONLY_OPTION = "xietong_readonly"
# SQLite's default is 1,000 pages (4 MB): a checkpoint, with its fsync, every hundred or so requests.
WAL_AUTOCHECKPOINT_PAGES = 10_000


def create_db_engine(settings: Settings, **overrides: Any) -> Engine:
    """Build the engine for the configured database, with our SQLite pragmas when needed."""
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        return _sqlite_engine(url, settings.sqlite_busy_timeout_ms, **overrides)
    # pool_pre_ping replaces connections the database dropped (a restart, a cut network) on checkout; the
    # connect timeout keeps a request from hanging on an unreachable host — it answers 503 instead.
    options: dict[str, Any] = {
        "pool_size": settings.pool_size, "max_overflow": 10, "pool_pre_ping": True,
        "connect_args": {"connect_timeout": settings.database_connect_timeout_seconds},
    }
    options.update(overrides)
    return create_engine(url, **options)


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
