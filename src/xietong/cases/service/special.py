"""特别程序 and 延期: the two lawful ways a handling unit takes more time than the promised limit.

A special procedure (行政许可法 §45: 听证, 招标, 拍卖, 检验, 检测, 检疫, 鉴定, 专家评审…) stops the case's clock
while it runs, like a suspension, and its end moves the due time by the working days it touched; its kind,
reason and legal basis are kept in ``special_procedure`` and told to the applicant in the case's timeline.
An extension (§42) moves the due time later by at most the legal number of working days, once per case,
approved by a leader of the handling unit with a written reason; the case records ``extended_days`` so
statistics can report extended cases apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from xietong.cases.enums import CaseStatus
from xietong.cases.events import Actor
from xietong.cases.models import SpecialProcedure
from xietong.cases.service.clock import move_due, pause_values, resume_values
from xietong.cases.service.common import Operation, facts, lock_case, refuse, require_status
from xietong.cases.service.pauses import MAX_TEXT, _reason, _require_handler
from xietong.clock.due import extend_due
from xietong.db.base import utcnow
from xietong.directory.models import Post
from xietong.engine.assignment import LEADER_POST
from xietong.errors import Conflict, InvalidInput
from xietong.security.permissions import TaskFacts, can
from xietong.security.principal import Principal
from xietong.system.calendar import work_calendar

PROCEDURE = SpecialProcedure.__table__
POST = Post.__table__

#: The kinds of 特别程序 (§45 and the usual practice), with their labels.
SPECIAL_KINDS: dict[str, str] = {
    "hearing": "听证",
    "tender": "招标",
    "auction": "拍卖",
    "inspection": "检验检测",
    "quarantine": "检疫",
    "appraisal": "鉴定",
    "expert_review": "专家评审",
    "site_survey": "现场勘验",
    "publicity": "公示",
}
#: §42: a decision not made within 20 days may, with the approval of the organ's head, take 10 more.
MAX_EXTENSION_DAYS = 10
RUNNING = frozenset({CaseStatus.ACCEPTED, CaseStatus.IN_PROGRESS})

_OPEN_PROCEDURE = select(PROCEDURE).where(
    PROCEDURE.c.case_id == bindparam("b_case_id"), PROCEDURE.c.ended_at.is_(None)
)
_LEADER_POST = select(POST.c.id).where(POST.c.unit_id == bindparam("b_unit_id"), POST.c.code == LEADER_POST)


def leader_facts(conn: Any, handling_unit_id: int) -> TaskFacts:
    """The handling unit's leader post, as the facts ``can(…, "extend", …)`` checks a principal against."""
    post_id = conn.execute(_LEADER_POST, {"b_unit_id": handling_unit_id}).scalar()
    return TaskFacts(unit_id=handling_unit_id, post_id=post_id, assignee_id=None)


def start_special_procedure(
    session: Session,
    *,
    principal: Principal,
    case_id: int,
    kind: str,
    reason: str,
    basis: str,
    planned_days: int | None = None,
    now: datetime | None = None,
    tz: str = "Asia/Shanghai",
) -> int:
    """Start a 特别程序: the clock stops until it ends. Returns its id."""
    if kind not in SPECIAL_KINDS:
        raise InvalidInput(code="unknown_special_kind", detail=f"不支持的特别程序类型：{kind}",
                           extra={"kinds": sorted(SPECIAL_KINDS)})
    reason = _reason(reason, "请填写启动特别程序的理由")
    basis = _reason(basis, "请填写特别程序的法律依据")
    if planned_days is not None and not 1 <= planned_days <= 365:
        raise InvalidInput(code="planned_days_invalid", detail="预计所需时间应为 1 到 365 个工作日")
    now = now or utcnow()
    row = lock_case(session, case_id)
    _require_handler(session, principal, row, "special_procedure")
    target = require_status("start_special_procedure", row)
    assert target is not None
    if row["process_state"] == "finished":
        raise Conflict(code="process_finished", detail="所有环节均已办理完毕，请直接办结")
    procedure_id = session.connection().execute(
        insert(PROCEDURE).returning(PROCEDURE.c.id),
        {"case_id": case_id, "kind": kind, "reason": reason, "basis": basis, "planned_days": planned_days,
         "started_by_id": principal.id, "started_at": now},
    ).scalar_one()
    label = SPECIAL_KINDS[kind]
    Operation(session, row, Actor(principal.kind, principal.id), now, tz).finish(
        "case.special_procedure_started",
        case_values={**pause_values(row, target, now), "reason": f"{label}：{reason}"},
        delta={"special_procedure": {"id": procedure_id, "kind": kind, "label": label, "reason": reason,
                                     "basis": basis, "planned_days": planned_days}},
    )
    return int(procedure_id)


def end_special_procedure(
    session: Session,
    *,
    principal: Principal,
    case_id: int,
    outcome: str,
    now: datetime | None = None,
    tz: str = "Asia/Shanghai",
) -> int:
    """End the running 特别程序 with its outcome: the clock runs again, the due time moved by the working days
    it touched. Returns those working days."""
    outcome = _reason(outcome, "请填写特别程序的结果")
    now = now or utcnow()
    row = lock_case(session, case_id)
    _require_handler(session, principal, row, "special_procedure")
    require_status("end_special_procedure", row)
    conn = session.connection()
    procedure = conn.execute(_OPEN_PROCEDURE, {"b_case_id": case_id}).mappings().first()
    if procedure is None:  # the status says one runs: a row is missing (never written this way)
        raise Conflict(code="no_special_procedure", detail="该办件没有正在进行的特别程序")
    values, timers, moved = resume_values(conn, row, now, tz)
    days = values.get("paused_days", row["paused_days"]) - row["paused_days"]
    conn.execute(
        update(PROCEDURE).where(PROCEDURE.c.id == procedure["id"]).values(
            ended_at=now, ended_by_id=principal.id, outcome=outcome, working_days=days
        )
    )
    Operation(session, row, Actor(principal.kind, principal.id), now, tz).finish(
        "case.special_procedure_ended",
        case_values=values,
        delta={"special_procedure": {"id": procedure["id"], "outcome": outcome, "working_days": days},
               "task_dues": moved},
        inserts=[("timer", timers)],
    )
    return days


def extend_case(
    session: Session,
    *,
    principal: Principal,
    case_id: int,
    days: int,
    reason: str,
    now: datetime | None = None,
    tz: str = "Asia/Shanghai",
) -> datetime:
    """延期: a leader of the handling unit extends the case's limit by ``days`` working days, once, with a
    written reason. Returns the new due time."""
    if not 1 <= days <= MAX_EXTENSION_DAYS:
        raise InvalidInput(code="extension_days_invalid",
                           detail=f"延期天数应为 1 到 {MAX_EXTENSION_DAYS} 个工作日（行政许可法第四十二条）")
    reason = _reason(reason, "请填写延期理由")
    now = now or utcnow()
    row = lock_case(session, case_id)
    conn = session.connection()
    if not can(principal, "extend", facts(row), leader_facts(conn, row["handling_unit_id"])):
        refuse(session, principal, row, "延期须由承办单位负责人批准")
    if CaseStatus(row["status"]) not in RUNNING or row["due_at"] is None:
        raise Conflict(code="wrong_case_status", detail="只有受理后正在办理（未暂停）的办件可以延期",
                       extra={"status": row["status"]})
    if row["extended_days"]:
        raise Conflict(code="already_extended", detail=f"该办件已延期 {row['extended_days']} 个工作日，只能延期一次")
    calendar = work_calendar(conn, tz)
    due = extend_due(row["due_at"], days, calendar)
    values, timers = move_due(conn, row, due, calendar, now)
    values["extended_days"] = days
    extension: dict[str, Any] = {"days": days, "reason": reason[:MAX_TEXT], "from": row["due_at"], "to": due}
    Operation(session, row, Actor(principal.kind, principal.id), now, tz).finish(
        "case.extended", case_values=values, delta={"extension": extension}, inserts=[("timer", timers)],
    )
    return due
