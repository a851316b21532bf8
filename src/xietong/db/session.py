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
