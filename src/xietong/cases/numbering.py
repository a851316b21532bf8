"""Case numbers: ``XT{region code}{yyyymmdd}{6-digit daily sequence}``, e.g. ``XT33110020261125000042``.

The sequence is a counter row per region and local date, advanced with one upsert that returns
the new value; the row lock it takes makes concurrent submissions wait, never collide.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, bindparam
from sqlalchemy.dialects import postgresql, sqlite

from xietong.db import fastpath
from xietong.system.models import Counter

COUNTER = Counter.__table__
# One upsert per dialect, built once: the compiled form comes from SQLAlchemy's cache.
_ADVANCE = {
    name: dialect.insert(COUNTER)
    .values(key=bindparam("b_key"), value=1)
    .on_conflict_do_update(index_elements=["key"], set_={"value": COUNTER.c.value + 1})
    .returning(COUNTER.c.value)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


def next_counter(conn: Connection, key: str) -> int:
    """Advance the counter ``key`` (created at 1) and return its new value; concurrent callers wait, never collide."""
    return int(fastpath.execute(conn, _ADVANCE[conn.dialect.name], {"b_key": key}).scalar_one())


def next_case_number(conn: Connection, *, region_code: str, at: datetime, tz: str) -> str:
    """Allocate the next number for ``region_code`` on the local date of ``at``."""
    day = at.astimezone(ZoneInfo(tz)).strftime("%Y%m%d")
    value = next_counter(conn, f"case:{region_code}:{day}")
    return f"XT{region_code}{day}{value:06d}"
