"""The worker's upkeep of the day summaries: each new closed day summarised after local midnight, and every
closed day that a later write touched summarised again — exactly those days, found through the change log.

Every fact a summary counts (a submission, an acceptance, a conclusion, a closed step, a rating) is written by an
operation whose event carries the fact's own time (``Operation``'s ``now``). So an event whose local day is
already summarised marks that day dirty: an import, the demo or a test wrote into the past. The duty reads the
sequenced events after its cursor (``feed_cursor`` row ``monitor_summaries``, locked for the transaction, as the
documents' issue does), re-summarises the dirty days as contiguous runs and moves the cursor, in one transaction.
Live work is timed "now", in a day not yet summarised: it marks nothing, and the hot path writes nothing more.

Marking a day that did not change (an event of a kind no summary counts) only costs a re-summary. Until the duty
has run (a worker tick, a second or so), a write into a summarised day is not yet in the figures.

The summaries start with the first ``xietong monitor refresh`` (``summary.refresh`` moves this cursor past the
events it already holds); before that, the duty does nothing and every figure is read from the cases.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.cases.models import Event
from xietong.dataservice.cursors import lock_cursor
from xietong.db.base import utcnow
from xietong.monitor.filters import TZ
from xietong.monitor.summary import CURSOR, refresh, summarised_through

BATCH = 20_000


def keep_summaries(session: Session, *, now: datetime | None = None, tz: str = TZ, batch: int = BATCH) -> int:
    """Re-summarise the dirty closed days of up to ``batch`` new events, then summarise the new closed days;
    returns how many days it summarised (0: nothing to do)."""
    held = summarised_through(session)
    if held is None:
        return 0
    now = now or utcnow()
    cursor = lock_cursor(session, CURSOR)
    rows = session.execute(
        select(Event.position, Event.at).where(Event.position > cursor.position)
        .order_by(Event.position).limit(batch)
    ).all()
    done = 0
    if rows:
        zone = ZoneInfo(tz)
        dirty = {d for d in (at.astimezone(zone).date() for _, at in rows) if d <= held}
        for first, last in runs(dirty):
            refresh(session, since=first, through=last, tz=tz, now=now)
            done += (last - first).days + 1
        cursor.position = rows[-1][0]
    yesterday = now.astimezone(ZoneInfo(tz)).date() - timedelta(days=1)
    if yesterday > held:
        refresh(session, tz=tz, now=now)
        done += (yesterday - held).days
    return done


def runs(days: set[date]) -> list[tuple[date, date]]:
    """The days as runs of consecutive days: {1, 2, 3, 7} → [(1, 3), (7, 7)]."""
    result: list[tuple[date, date]] = []
    for day in sorted(days):
        if result and day == result[-1][1] + timedelta(days=1):
            result[-1] = (result[-1][0], day)
        else:
            result.append((day, day))
    return result
