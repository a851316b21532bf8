"""The §32 window warning: one working day before the 一次性补正告知 window closes, the handling unit's people
are told in-app, with the rule that a notice not given in time means the application counts as accepted.

The timer (kind ``supplement_warning``) is armed by the documents worker when it reads a ``case.submitted``
event (``issue.py``), in the transaction that advances its cursor — the submit hot path writes nothing more.
The handler decides from the case's current state: a case no longer waiting for acceptance (accepted,
rejected, withdrawn, or sent a 补正告知) gets no warning, and the timer is simply marked done.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, insert, select
from sqlalchemy.orm import Session

from xietong.cases.enums import CaseStatus
from xietong.cases.models import Case, Event, Notification
from xietong.cases.service.common import lock_case
from xietong.clock.due import due_at
from xietong.directory.models import Membership, Person
from xietong.system.calendar import work_calendar
from xietong.worker.models import Timer
from xietong.worker.timers import handles

SUPPLEMENT_WARNING = "supplement_warning"
SUPPLEMENT_WINDOW_DAYS = 5  # 行政许可法 §32: five working days after the application arrives
WARN_BEFORE_DAYS = 1
TZ = "Asia/Shanghai"


def warning_timer(session: Session, *, case_id: int, submitted_at: datetime, tz: str) -> dict[str, Any]:
    """The timer row: at the end of the working day before the window's last one (so the whole last day is left)."""
    calendar = work_calendar(session.connection(), tz)
    return {"kind": SUPPLEMENT_WARNING, "case_id": case_id, "task_id": None, "state": "pending", "attempts": 0,
            "payload": {}, "fire_at": due_at(submitted_at, SUPPLEMENT_WINDOW_DAYS - WARN_BEFORE_DAYS, calendar)}


def arm_warning(session: Session, *, case_id: int, submitted_at: datetime, tz: str) -> None:
    session.execute(insert(Timer.__table__), [warning_timer(session, case_id=case_id, submitted_at=submitted_at,
                                                            tz=tz)])


def notice_given(session: Session, case_ids: list[int]) -> set[int]:
    """The cases among ``case_ids`` that already had their one §32 notice (a ``case.supplement_requested``).

    After a 补正 before acceptance and the resubmission the case is ``submitted`` again with its first
    ``submitted_at``; §32 allows one notice, so neither the window nor the warning applies to it any more.
    """
    if not case_ids:
        return set()
    return set(session.scalars(
        select(Event.case_id).where(Event.case_id.in_(case_ids), Event.type == "case.supplement_requested")
        .distinct()))


@handles(SUPPLEMENT_WARNING)
def supplement_warning(session: Session, timer: Row[Any], now: datetime) -> None:
    """Notify every active member of the handling unit while the case still waits for acceptance."""
    row = lock_case(session, timer.case_id)
    if row["status"] != CaseStatus.SUBMITTED.value or notice_given(session, [timer.case_id]):
        return
    case = session.get(Case, timer.case_id)
    if case is None or case.submitted_at is None:
        return
    due = due_at(case.submitted_at, SUPPLEMENT_WINDOW_DAYS, work_calendar(session.connection(), TZ))
    last_day = (due.astimezone(ZoneInfo(TZ)) - timedelta(microseconds=1)).date()  # ``due`` is the day's end
    title = (f"补正告知期限将至：{case.number} {case.title}，材料需补正的须于 {last_day:%Y-%m-%d} 当日内一次性告知；"
             "逾期未告知的，自收到申请之日起即为受理")[:200]
    people = session.scalars(
        select(Membership.person_id).join(Person, Person.id == Membership.person_id)
        .where(Membership.unit_id == case.handling_unit_id, Person.active.is_(True))
        .distinct().order_by(Membership.person_id))
    rows = [{"person_id": p, "case_id": case.id, "kind": SUPPLEMENT_WARNING, "title": title} for p in people]
    if rows:
        session.execute(insert(Notification), rows)
