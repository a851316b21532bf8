"""Case numbers: ``XT{region code}{yyyymmdd}{6-digit daily sequence}``, e.g. ``XT33110020261125000042``.

The sequence is a counter row per region and local date, advanced with one upsert that returns
the new value; the row lock it takes makes concurrent submissions wait, never collide.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from xietong.system.models import Counter

COUNTER = Counter.__table__


def next_case_number(conn: Connection, *, region_code: str, at: datetime, tz: str) -> str:
    """Allocate the next number for ``region_code`` on the local date of ``at``."""
    day = at.astimezone(ZoneInfo(tz)).strftime("%Y%m%d")
    key = f"case:{region_code}:{day}"
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(COUNTER).values(key=key, value=1)
    stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={"value": COUNTER.c.value + 1})
    value = conn.execute(stmt.returning(COUNTER.c.value)).scalar_one()
    return f"XT{region_code}{day}{value:06d}"
