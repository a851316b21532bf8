"""Reporting cases to the provincial platform: a change-log follower turns each reportable event into one
exchange record, queued on the ordered ``province`` channel (key: the case), so the platform sees a case's
acceptance before its steps and its steps before its conclusion.

The record is built when the event is followed, from the event and the case's rows as they are then, in the exchange
tables' local-time format — and its serial is ``{case number}-{event seq}-{table}``: stable, so the platform
de-duplicates a record sent twice.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from xietong.cases.models import Case, Event, SpecialProcedure
from xietong.catalog.models import LocalMatter
from xietong.directory.models import Person, Region, Unit
from xietong.engine.models import Task
from xietong.integrations.feed import Committed, follow
from xietong.integrations.outbound import enqueue
from xietong.integrations.province.protocol import TIME_FORMAT

CHANNEL = "province"
CURSOR = "province"
TZ = ZoneInfo("Asia/Shanghai")
APPLICANT = aliased(Unit)
HANDLING = aliased(Unit)
LEVELS = {"very_satisfied": "5", "satisfied": "4", "basically_satisfied": "3", "dissatisfied": "2",
          "very_dissatisfied": "1"}
CHANNELS = {"web": "1", "mobile": "2", "counter": "3", "api": "4", "oa": "4"}
STEP_EVENTS = frozenset({"task.completed", "case.returned", "case.returned_to_applicant"})
REPORTED = frozenset({"case.accepted", "case.rejected", "case.special_procedure_started",
                      "case.special_procedure_ended", "case.concluded", "case.rated"}) | STEP_EVENTS


def report_to_province(session: Session) -> int:
    """The worker duty: follow the change log and queue the records of up to one batch of events."""
    return follow(session, CURSOR, _report, types=REPORTED)


def _report(session: Session, event: Committed) -> None:
    table, record = records_of(session, event)
    if record is None:
        return
    number = record["PROJID"]
    enqueue(session, CHANNEL, table, {"table": table, "record": record}, key=event.case_id,
            message_id=f"{number}-{event.seq}-{table}"[:64], now=event.at)


def records_of(session: Session, event: Committed) -> tuple[str, dict[str, Any] | None]:
    """The exchange table and record an event calls for (``None``: nothing to report)."""
    if event.type in ("case.accepted", "case.rejected"):
        return "up_pro_accept", _accept(session, event)
    if event.type in STEP_EVENTS:
        return "up_pro_process", _process(session, event)
    if event.type.startswith("case.special_procedure"):
        return "up_pro_special_procedure", _special(session, event)
    if event.type == "case.concluded":
        return "up_pro_result", _result(session, event)
    return "up_pro_evaluation", _evaluation(session, event)


def _time(at: datetime | None) -> str | None:
    return at.astimezone(TZ).strftime(TIME_FORMAT) if at is not None else None


def _number(session: Session, case_id: int) -> str:
    return session.execute(select(Case.number).where(Case.id == case_id)).scalar_one()


def _person(session: Session, person_id: Any) -> str:
    name = session.scalar(select(Person.name).where(Person.id == person_id)) if person_id else None
    return name or "系统"


def _accept(session: Session, event: Committed) -> dict[str, Any]:
    row = session.execute(
        select(Case, LocalMatter.code, LocalMatter.name, APPLICANT.name, APPLICANT.uscc, HANDLING.name,
               HANDLING.uscc, Region.code, Person.name)
        .join(LocalMatter, LocalMatter.id == Case.local_matter_id)
        .join(APPLICANT, APPLICANT.id == Case.applicant_unit_id)
        .join(HANDLING, HANDLING.id == Case.handling_unit_id)
        .join(Region, Region.id == Case.region_id)
        .outerjoin(Person, Person.id == Case.applicant_person_id)
        .where(Case.id == event.case_id)
    ).one()
    case, code, matter, applicant, applicant_uscc, handling, handling_uscc, region_code, contact = row
    accepted = event.type == "case.accepted"
    first_hash = session.scalar(select(Event.hash).where(Event.case_id == case.id, Event.seq == 1)) or case.number
    return _compact({
        "PROJID": case.number,
        # The applicant queries the platform with it; derived from the case's first event hash, so it is fixed
        # per case and cannot be guessed from the number.
        "PROJPWD": hashlib.sha256(first_hash.encode()).hexdigest()[:6],
        "SERVICECODE": code, "SERVICENAME": matter, "PROJECTNAME": case.title,
        "APPLYNAME": applicant, "APPLY_CARDNUMBER": applicant_uscc, "CONTACTMAN": contact,
        "DEPTID": handling_uscc or "", "DEPTNAME": handling, "AREACODE": region_code,
        "RECEIVETIME": _time(case.submitted_at), "ACCEPTTIME": _time(event.at) if accepted else None,
        "ACCEPT_STATE": "1" if accepted else "0",
        "NOT_ACCEPT_REASON": None if accepted else (event.delta.get("case", {}).get("reason") or case.reason),
        "PROMISEVALUE": case.promised_limit_days, "PROMISETYPE": "1",
        "PROMISE_ETIME": _time(case.due_at) if accepted else None,
        "BUS_MODE": "1" if case.kind == "immediate" else "2",
        "APPLY_CHANNEL": CHANNELS.get(case.channel, "4"),
    })


def _process(session: Session, event: Committed) -> dict[str, Any] | None:
    step = event.delta.get("task_completed") or event.delta.get("task_ended")
    if not step:
        return None
    task = session.execute(select(Task.name, Unit.name).join(Unit, Unit.id == Task.unit_id)
                           .where(Task.id == step["id"])).one()
    returned = event.type != "task.completed"
    passed = not returned and step.get("outcome") == "approve"
    return _compact({
        "PROJID": _number(session, event.case_id), "SN": event.seq,
        "NODENAME": f"{task[0]}（退回）" if returned else task[0],
        "HANDLEUSERNAME": _person(session, step.get("by") or event.actor_id), "DEPTNAME": task[1],
        "HANDLE_RESULT": "1" if passed else "0", "HANDLEEXPLAIN": step.get("opinion"),
        "HANDLETIME": _time(event.at),
    })


def _special(session: Session, event: Committed) -> dict[str, Any]:
    section = event.delta["special_procedure"]
    procedure = session.get(SpecialProcedure, section["id"])
    assert procedure is not None
    ended = event.type == "case.special_procedure_ended"
    return _compact({
        "PROJID": _number(session, event.case_id), "SN": procedure.id, "SPECIALTYPE": procedure.kind,
        "SPECIALNAME": section.get("label") or procedure.kind, "SPECIALREASON": procedure.reason,
        "SPECIALBASIS": procedure.basis, "STARTTIME": _time(procedure.started_at),
        "ENDTIME": _time(event.at) if ended else None, "SPECIALRESULT": section.get("outcome") if ended else None,
        "SPECIALDAYS": section.get("working_days") if ended else None,
    })


def _result(session: Session, event: Committed) -> dict[str, Any]:
    case = session.get(Case, event.case_id)
    assert case is not None
    changes = event.delta.get("case", {})
    return _compact({
        "PROJID": case.number, "TRANSACT_USER": _person(session, event.actor_id),
        "TRANSACT_TIME": _time(event.at),
        "TRANSACT_RESULT": "1" if (changes.get("result") or case.result) == "granted" else "0",
        "TRANSACT_DESCRIBE": changes.get("result_note") or case.result_note,
        "USED_DAYS": changes.get("working_days_used", case.working_days_used),
    })


def _evaluation(session: Session, event: Committed) -> dict[str, Any] | None:
    rating = event.delta.get("oversight", {}).get("rating")
    if not rating:
        return None
    return _compact({
        "PROJID": _number(session, event.case_id), "EVALUATE_LEVEL": LEVELS.get(rating["level"], "3"),
        "EVALUATE_CONTENT": rating.get("comment"), "EVALUATE_TIME": _time(event.at),
    })


def _compact(record: dict[str, Any]) -> dict[str, Any]:
    """Empty optional fields are left out, as the exchange expects."""
    return {k: v for k, v in record.items() if v is not None and v != ""}
