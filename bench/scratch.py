"""A scratch PostgreSQL database for a benchmark run, made on (and dropped from) the server a URL names."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from xietong.config import normalise_database_url


def scratch_postgres(base: str, name: str, *, create: bool) -> str:
    """Drop database ``name`` on ``base``'s server and, with ``create``, make it afresh; returns its URL."""
    url = make_url(normalise_database_url(base))
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)
