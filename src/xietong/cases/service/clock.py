"""The case clock across operations: the card timers a due time arms, and moving the due time after a pause.

Accepting a case arms a yellow and a red timer for its due time; a pause (补正, 挂起, 特别程序) stops the
clock, and the end of the pause moves the due time by the working days it touched, cancels the pending
card timers and arms fresh ones — so the worker never fires a card for a due time that no longer holds —
and shows the card the moved due time gives now: a case or step that was late before the pause and is no
longer late after it loses its red card (the card events stay in its history).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from xietong.cases.enums import CaseStatus
from xietong.catalog.models import MatterVersion
from xietong.clock.calendar import WorkCalendar
from xietong.clock.cards import Card, card_for, yellow_at
from xietong.clock.due import extend_due, paused_working_days
from xietong.engine.models import Task
from xietong.system.calendar import work_calendar
from xietong.worker.models import Timer

TIMER = Timer.__table__
TASK = Task.__table__
CARD_TIMERS = ("case_yellow", "case_red")
_CANCEL_CARD_TIMERS = (
    update(TIMER)
    .where(TIMER.c.case_id == bindparam("b_case_id"), TIMER.c.state == "pending", TIMER.c.kind.in_(CARD_TIMERS))
    .values(state="cancelled", done_at=bindparam("b_now"))
)


_OPEN_TASK_DUES = select(TASK.c.id, TASK.c.due_at, TASK.c.card).where(
    TASK.c.case_id == bindparam("b_case_id"), TASK.c.state == "open", TASK.c.due_at.is_not(None)
)
_MOVE_TASK_DUE = (
    update(TASK).where(TASK.c.id == bindparam("b_id")).values(due_at=bindparam("b_due"), card=bindparam("b_card"))
)
_THRESHOLDS = select(MatterVersion.yellow_days, MatterVersion.yellow_ratio).where(
    MatterVersion.id == bindparam("b_id")
)
Thresholds = tuple[float | None, float | None]


def thresholds(conn: Connection, matter_version_id: int) -> Thresholds:
    """The version's yellow-card thresholds (working days, share of the limit); None means the default."""
    days, ratio = conn.execute(_THRESHOLDS, {"b_id": matter_version_id}).one()
    return days, ratio
_CANCEL_TASK_TIMERS = (
    update(TIMER)
    .where(TIMER.c.task_id.in_(bindparam("b_ids", expanding=True)), TIMER.c.state == "pending",
           TIMER.c.kind == "task_due")
    .values(state="cancelled", done_at=bindparam("b_now"))
)


def card_timers(
    case_id: int, due: datetime, limit_days: int, calendar: WorkCalendar, now: datetime,
    limits: Thresholds = (None, None),
) -> list[dict[str, Any]]:
    """The yellow- and red-card timer rows for a case due at ``due`` (under the version's thresholds)."""
    fire = {"case_yellow": max(now, yellow_at(due, limit_days, calendar, *limits)), "case_red": due}
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
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The case columns that restart its clock (due time moved by the pause), the fresh timers (cards, and
    the open steps' ``task_due``), and the open steps' moved due times (the event's ``task_dues`` section).

    ``row`` needs the case's status, paused_at, paused_from, accepted_at, due_at, paused_days and
    promised_limit_days. Before acceptance (受理前补正) no clock runs and only the status changes.
    """
    back = row["paused_from"] or (CaseStatus.IN_PROGRESS if row["accepted_at"] else CaseStatus.SUBMITTED).value
    values: dict[str, Any] = {"status": back, "paused_at": None, "paused_from": None}
    if row["due_at"] is None or row["paused_at"] is None:
        return values, [], []
    calendar = work_calendar(conn, tz)
    days = paused_working_days(row["paused_at"], now, calendar)
    due = extend_due(row["due_at"], days, calendar)
    values["paused_days"] = row["paused_days"] + days
    due_values, timers = move_due(conn, row, due, calendar, now)
    values.update(due_values)
    moved, task_timers = _move_task_dues(conn, row["id"], days, calendar, now)
    return values, timers + task_timers, moved


def move_due(
    conn: Connection, row: Mapping[str, Any], due: datetime, calendar: WorkCalendar, now: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The case columns for a new due time (with the card it gives now) and fresh card timers; the pending
    card timers of the old due time are cancelled. ``row`` needs id, matter_version_id, promised_limit_days
    and card."""
    values: dict[str, Any] = {"due_at": due}
    limits = thresholds(conn, row["matter_version_id"])
    card = card_for(now, due, row["promised_limit_days"], calendar, *limits).value
    if card != row["card"]:
        values["card"] = card
    conn.execute(_CANCEL_CARD_TIMERS, {"b_case_id": row["id"], "b_now": now})
    return values, card_timers(row["id"], due, row["promised_limit_days"], calendar, now, limits)


def _move_task_dues(
    conn: Connection, case_id: int, days: int, calendar: WorkCalendar, now: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Move the open steps' due times by the paused working days and re-arm their ``task_due`` timers; a step
    that is no longer overdue at its moved due time loses its red card."""
    rows = conn.execute(_OPEN_TASK_DUES, {"b_case_id": case_id}).all()
    if not rows or days == 0:
        return [], []
    moved = []
    for task_id, due, card in rows:
        new_due = extend_due(due, days, calendar)
        entry: dict[str, Any] = {"id": task_id, "due_at": new_due}
        if card == Card.RED.value and new_due >= now:
            entry["card"] = Card.NONE.value
        moved.append((entry, entry.get("card", card)))
    conn.execute(_CANCEL_TASK_TIMERS, {"b_ids": [m["id"] for m, _ in moved], "b_now": now})
    conn.execute(_MOVE_TASK_DUE, [{"b_id": m["id"], "b_due": m["due_at"], "b_card": c} for m, c in moved])
    timers = [
        {"kind": "task_due", "case_id": case_id, "task_id": m["id"], "state": "pending", "attempts": 0, "payload": {},
         "fire_at": m["due_at"]}
        for m, _ in moved
    ]
    return [m for m, _ in moved], timers
