"""Session factories and the unit of work: the edge (request, worker, CLI) owns the transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from xietong.db.engine import readonly


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """One write transaction: commits when the block ends, rolls back on any exception."""
    with Session(engine, expire_on_commit=False, autoflush=False) as session, session.begin():
        yield session


@contextmanager
def read_only(engine: Engine) -> Iterator[Session]:
    """One read transaction that never blocks writers; anything written is rolled back."""
    with Session(readonly(engine), expire_on_commit=False, autoflush=False) as session:
        try:
            yield session
        finally:
            session.rollback()


@contextmanager
def lookups(engine: Engine) -> Iterator[Session]:
    """Reads that need no transaction around them, such as authenticating a request. On PostgreSQL they run in
    autocommit: each statement is its own snapshot — as it is under READ COMMITTED inside a transaction too —
    and the BEGIN and COMMIT round trips are saved. Elsewhere, a read transaction (``read_only``). Nothing
    may be written here: in autocommit it would stay."""
    if engine.dialect.name != "postgresql":
        with read_only(engine) as session:
            yield session
        return
    with Session(engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False,
                 autoflush=False) as session:
        yield session
