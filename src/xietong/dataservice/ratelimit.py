"""Per-client rate limit: a fixed one-minute window counted in the database, so it holds across app processes.

One upsert per request (insert the window's row or add one to it) returns the new count; over the client's
limit the request is refused with 429 and the seconds left in the window. Counting happens in its own short
transaction, before the request's own, so a refused request writes nothing else.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from xietong.dataservice.clients import rate_limit_of
from xietong.dataservice.models import RateWindow
from xietong.errors import TooManyRequests

WINDOW_SECONDS = 60


def count_request(session: Session, *, client_pk: int, now: datetime) -> int:
    """Count one request of the client in the current window; 429 once it is over its limit. Returns the count."""
    limit = rate_limit_of(session, client_pk)
    epoch = int(now.timestamp())
    start = epoch - epoch % WINDOW_SECONDS
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(RateWindow).values(client_pk=client_pk, window_start=start, count=1)
    statement = statement.on_conflict_do_update(
        index_elements=["client_pk", "window_start"], set_={"count": RateWindow.count + 1}
    ).returning(RateWindow.count)
    count = session.execute(statement).scalar_one()
    if count == 1:  # the first request of a window clears the client's old windows
        session.execute(delete(RateWindow).where(RateWindow.client_pk == client_pk, RateWindow.window_start < start))
    if count > limit:
        retry_after = max(1, start + WINDOW_SECONDS - epoch)
        raise TooManyRequests(
            code="rate_limited", detail=f"该应用每分钟最多 {limit} 次请求，请 {retry_after} 秒后再试",
            extra={"retry_after": retry_after},
        )
    return count
