"""受理 / 不予受理 / 撤回 / 办结 / 归档: the case-level operations around the process."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from xietong.cases.enums import CaseStatus, Result
from xietong.cases.events import Actor
from xietong.cases.service.clock import card_timers, thresholds
from xietong.cases.service.common import Operation, lock_case, require, require_status
from xietong.clock.due import due_at, working_days_used
from xietong.db.base import utcnow
from xietong.engine.models import Task
from xietong.engine.transitions import start_process
from xietong.errors import Conflict, InvalidInput
from xietong.security.principal import Principal
from xietong.system.calendar import fingerprint_of, work_calendar
from xietong.worker.models import Timer

TIMER = Timer.__table__
TASK = Task.__table__
_CANCEL_OPEN_TASKS = (
    update(TASK).where(TASK.c.case_id == bindparam("b_case_id"), TASK.c.state == "open").values(state="cancelled")
)


def _actor(principal: Principal) -> Actor:
    return Actor(principal.kind, principal.id)


def accept_case(
    session: Session, *, principal: Principal, case_id: int, now: datetime | None = None, tz: str = "Asia/Shanghai"
) -> list[int]:
    """受理: start the clock and the process; returns the ids of the first tasks."""
    now = now or utcnow()
    row = lock_case(session, case_id)
    require(session, principal, "accept", row)
    target = require_status("accept", row)
    op = Operation(session, row, _actor(principal), now, tz)
    calendar = op.calendar
    immediate = row["kind"] == "immediate"
    due = due_at(now, row["promised_limit_days"], calendar, immediate=immediate)
    run = op.new_run()
    start_process(run)
    limits = thresholds(session.connection(), row["matter_version_id"])
    timers = card_timers(case_id, due, row["promised_limit_days"], calendar, now, limits)
    assert target is not None
    op.finish(
        "case.accepted",
        case_values={"status": target.value, "accepted_at": now, "due_at": due},
        inserts=[("timer", timers)],
    )
    return [t.id for t in run.new_tasks if t.id is not None]


def reject_case(
    session: Session,
    *,
    principal: Principal,
    case_id: int,
    reason: str,
    now: datetime | None = None,
    tz: str = "Asia/Shanghai",
) -> None:
    """不予受理 with a reason the applicant will read."""
    _close_without_process(session, principal, case_id, "reject", reason, "case.rejected", now, tz)


def withdraw_case(
    session: Session,
    *,
    principal: Principal,
    case_id: int,
    reason: str = "",
    now: datetime | None = None,
    tz: str = "Asia/Shanghai",
) -> None:
    """撤回: the applicant takes back a submission before it is accepted."""
    _close_without_process(session, principal, case_id, "withdraw", reason, "case.withdrawn", now, tz)


def _close_without_process(
    session: Session,
    principal: Principal,
    case_id: int,
    operation: str,
    reason: str,
    event: str,
    now: datetime | None,
    tz: str,
) -> None:
    reason = reason.strip()
    if operation == "reject" and not reason:
        raise InvalidInput(code="reason_required", detail="请填写不予受理的理由")
    now = now or utcnow()
    row = lock_case(session, case_id)
    require(session, principal, operation, row)
    target = require_status(operation, row)
    assert target is not None
    Operation(session, row, _actor(principal), now, tz).finish(
        event, case_values={"status": target.value, "reason": reason, "concluded_at": None}
    )


def conclude_case(
    session: Session,
    *,
    principal: Principal,
    case_id: int,
    result: str,
    note: str = "",
    now: datetime | None = None,
    tz: str = "Asia/Shanghai",
) -> None:
    """办结 with 准予 (granted) or 不予 (denied), once the process has reached its end."""
    if result not in {r.value for r in Result}:
        raise InvalidInput(code="bad_result", detail="办结结果只能是准予或不予")
    now = now or utcnow()
    row = lock_case(session, case_id)
    require(session, principal, "conclude", row)
    target = require_status("conclude", row)
    if row["process_state"] != "finished":
        raise Conflict(code="process_running", detail="流程尚未走完，不能办结")
    assert target is not None
    used = None
    if row["accepted_at"] is not None:
        calendar = work_calendar(session.connection(), tz, fingerprint_of(row))
        used = working_days_used(row["accepted_at"], max(now, row["accepted_at"]), calendar, row["paused_days"])
    Operation(session, row, _actor(principal), now, tz).finish(
        "case.concluded",
        case_values={"status": target.value, "result": result, "result_note": note, "concluded_at": now,
                     "working_days_used": used},
    )


def archive_case(
    session: Session, *, principal: Principal, case_id: int, now: datetime | None = None, tz: str = "Asia/Shanghai"
) -> None:
    """归档 a concluded (or rejected, withdrawn) case."""
    now = now or utcnow()
    row = lock_case(session, case_id)
    require(session, principal, "archive", row)
    target = require_status("archive", row)
    assert target is not None
    session.connection().execute(_CANCEL_OPEN_TASKS, {"b_case_id": case_id})
    Operation(session, row, _actor(principal), now, tz).finish(
        "case.archived", case_values={"status": CaseStatus.ARCHIVED.value, "archived_at": now}
    )
