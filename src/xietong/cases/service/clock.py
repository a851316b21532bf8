"""The case clock across operations: the card timers a due time arms, and moving the due time after a pause.

Accepting a case arms a yellow and a red timer for its due time; a pause (补正, 挂起, 特别程序) stops the
clock, and the end of the pause moves the due time by the working days it touched, cancels the pending
card timers and arms fresh ones — so the worker never fires a card for a due time that no longer holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, update

from xietong.cases.enums import CaseStatus
from xietong.clock.calendar import WorkCalendar
from xietong.clock.cards import yellow_at
from xietong.clock.due import extend_due, paused_working_days
from xietong.system.calendar import work_calendar
from xietong.worker.models import Timer

TIMER = Timer.__table__
CARD_TIMERS = ("case_yellow", "case_red")
_CANCEL_CARD_TIMERS = (
    update(TIMER)
    .where(TIMER.c.case_id == bindparam("b_case_id"), TIMER.c.state == "pending", TIMER.c.kind.in_(CARD_TIMERS))
    .values(state="cancelled", done_at=bindparam("b_now"))
)


def card_timers(
    case_id: int, due: datetime, limit_days: int, calendar: WorkCalendar, now: datetime
) -> list[dict[str, Any]]:
    """The yellow- and red-card timer rows for a case due at ``due``."""
    fire = {"case_yellow": max(now, yellow_at(due, limit_days, calendar)), "case_red": due}
    return [
        {"kind": kind, "case_id": case_id, "task_id": None, "state": "pending", "attempts": 0, "payload": {},
         "fire_at": fire[kind]}
        for kind in CARD_TIMERS
    ]


def pause_values(row: Mapping[str, Any], status: CaseStatus, now: datetime) -> dict[str, Any]:
    """The case columns that stop its clock and remember the status to return to."""
    return {"status": status.value, "paused_at": now, "paused_from": row["status"]}


def resume_values(
    conn: Connection, row: Mapping[str, Any], now: datetime, tz: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The case columns that restart its clock (due time moved by the pause), and the fresh card timers.

    ``row`` needs the case's status, paused_at, paused_from, accepted_at, due_at, paused_days and
    promised_limit_days. Before acceptance (受理前补正) no clock runs and only the status changes.
    """
    back = row["paused_from"] or (CaseStatus.IN_PROGRESS if row["accepted_at"] else CaseStatus.SUBMITTED).value
    values: dict[str, Any] = {"status": back, "paused_at": None, "paused_from": None}
    if row["due_at"] is None or row["paused_at"] is None:
        return values, []
    calendar = work_calendar(conn, tz)
    days = paused_working_days(row["paused_at"], now, calendar)
    due = extend_due(row["due_at"], days, calendar)
    values.update(due_at=due, paused_days=row["paused_days"] + days)
    conn.execute(_CANCEL_CARD_TIMERS, {"b_case_id": row["id"], "b_now": now})
    return values, card_timers(row["id"], due, row["promised_limit_days"], calendar, now)
