"""Yellow and red cards of cases and overdue steps: the cases domain's timer handlers.

Each handler locks the case, re-checks that the timer still applies — the case is running (accepted or in
progress, not paused), the card is not already shown, and the *current* due time (which a resume moves)
says so now — and then records the card on the row and appends its event to the case's chain as the system:
``case.card_yellow`` / ``case.card_red`` (``case.card``) and ``task.overdue`` (``task.card`` = red). Otherwise
it does nothing and the worker marks the timer done: the resume operation arms fresh timers for the new due time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from xietong.cases.enums import CaseStatus
from xietong.cases.events import SYSTEM
from xietong.cases.service.clock import thresholds
from xietong.cases.service.common import Operation, lock_case
from xietong.clock.calendar import to_utc
from xietong.clock.cards import Card, red_at, yellow_at
from xietong.engine.models import Task
from xietong.system.calendar import work_calendar
from xietong.worker.timers import handles

TASK = Task.__table__
RUNNING = frozenset({CaseStatus.ACCEPTED, CaseStatus.IN_PROGRESS})  # the clock runs; paused states are apart
TZ = "Asia/Shanghai"


def _running(row: Mapping[str, Any]) -> bool:
    return CaseStatus(row["status"]) in RUNNING and row["due_at"] is not None


@handles("case_yellow")
def case_yellow(session: Session, timer: Row[Any], now: datetime) -> None:
    """黄牌: from the version's thresholds and the case's current due time."""
    row = lock_case(session, timer.case_id)
    if not _running(row) or row["card"] != Card.NONE.value:
        return
    limits = thresholds(session.connection(), row["matter_version_id"])
    calendar = work_calendar(session.connection(), TZ)
    if to_utc(now) < yellow_at(row["due_at"], row["promised_limit_days"], calendar, *limits):
        return  # the due time moved on (a resume): the fresh timer will come
    Operation(session, row, SYSTEM, now, TZ).finish("case.card_yellow", case_values={"card": Card.YELLOW.value})


@handles("case_red")
def case_red(session: Session, timer: Row[Any], now: datetime) -> None:
    """红牌: the case's current due time has passed."""
    row = lock_case(session, timer.case_id)
    if not _running(row) or row["card"] == Card.RED.value or to_utc(now) < red_at(row["due_at"]):
        return
    Operation(session, row, SYSTEM, now, TZ).finish("case.card_red", case_values={"card": Card.RED.value})


@handles("task_due")
def task_due(session: Session, timer: Row[Any], now: datetime) -> None:
    """An open step past its current due time is overdue (the step's own red card)."""
    row = lock_case(session, timer.case_id)
    if not _running(row):
        return
    task = session.execute(
        select(TASK.c.id, TASK.c.state, TASK.c.due_at, TASK.c.card).where(TASK.c.id == timer.task_id)
    ).first()
    if task is None or task.state != "open" or task.card == Card.RED.value or task.due_at is None:
        return
    if to_utc(now) < to_utc(task.due_at):
        return
    session.execute(update(TASK).where(TASK.c.id == task.id).values(card=Card.RED.value))
    Operation(session, row, SYSTEM, now, TZ).finish(
        "task.overdue", delta={"task_card": {"id": task.id, "card": Card.RED.value}}
    )
