"""The instance secret: from ``XIETONG_SECRET_KEY`` when given, else generated once and kept in the database.

Kept in the database rather than the data directory because several app hosts share one database but
not one directory; every process of an instance must sign and check with the same key.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from xietong.system.models import SystemSetting

SECRET_SETTING = "instance.secret_key"


def instance_secret(session: Session, configured: str | None) -> str:
    """The configured secret, or the stored one (created by whichever process asks first)."""
    if configured:
        return configured
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(SystemSetting)
        .values(key=SECRET_SETTING, value=secrets.token_urlsafe(48))
        .on_conflict_do_nothing(index_elements=["key"])
    )
    value = session.scalar(select(SystemSetting.value).where(SystemSetting.key == SECRET_SETTING))
    assert value is not None
    return value


def stored_secret(session: Session) -> str | None:
    """The secret kept in the database, if one was ever generated (reads only)."""
    return session.scalar(select(SystemSetting.value).where(SystemSetting.key == SECRET_SETTING))
