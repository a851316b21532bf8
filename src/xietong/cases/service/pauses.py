"""补正 / 重新提交 / 挂起 / 恢复: the operations that stop a case's clock and start it again.

补正 asks the applicant for what is missing or wrong — every item in one request — and keeps the open
tasks waiting; the applicant's resubmission carries the corrected form and added materials, and its
event records what changed. A return to the applicant (``returns.py``) is resubmitted the same way and
then re-enters the process. Suspension is the handling unit's own pause, with a reason. Ending any
pause moves the due time by the working days it touched (``clock.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Text, bindparam, cast, insert, select, update
from sqlalchemy.orm import Session

from xietong.cases.enums import CaseStatus
from xietong.cases.events import Actor
from xietong.cases.models import SupplementRequest
from xietong.cases.service.clock import pause_values, resume_values
from xietong.cases.service.common import Operation, facts, lock_case, refuse, require, require_status
from xietong.cases.service.submit import (
    _check_form,
    _check_materials,
    _materials,
    claim_attachments,
    situation_applied,
    without_left_out,
)
from xietong.catalog import situations
from xietong.catalog.models import MatterVersion
from xietong.db.base import utcnow
from xietong.engine import returns as engine_returns
from xietong.engine.models import Task
from xietong.engine.state import TaskRow
from xietong.engine.store import task_row
from xietong.errors import FieldProblem, InvalidInput
from xietong.security.permissions import TaskFacts, can
from xietong.security.principal import Principal

REQUEST = SupplementRequest.__table__
VERSION = MatterVersion.__table__
TASK = Task.__table__
MAX_ITEMS = 50
MAX_TEXT = 500
_VERSION_SCHEMAS = select(cast(VERSION.c.form_schema, Text), cast(VERSION.c.materials, Text),
                          cast(VERSION.c.situations, Text)).where(
    VERSION.c.id == bindparam("b_id")
)
_OPEN_REQUEST = (
    select(REQUEST)
    .where(REQUEST.c.case_id == bindparam("b_case_id"), REQUEST.c.resubmitted_at.is_(None))
    .order_by(REQUEST.c.id.desc())
    .limit(1)
)
_OPEN_TASK_FACTS = select(TASK.c.unit_id, TASK.c.post_id, TASK.c.assignee_id).where(
    TASK.c.case_id == bindparam("b_case_id"), TASK.c.state == "open"
)


def request_supplement(
    session: Session,
    *,
    principal: Principal,
    case_id: int,
    items: list[dict[str, Any]],
    reason: str = "",
    now: datetime | None = None,
    tz: str = "Asia/Shanghai",
) -> int:
    """补正: ask the applicant, in one request, for every listed item; the clock stops. Returns the request id."""
    now = now or utcnow()
    row = lock_case(session, case_id)
    _require_handler(session, principal, row)
    target = require_status("supplement", row)
    assert target is not None
    cleaned = _check_items(session, row, items)
    reason = reason.strip()[:MAX_TEXT]
    request_id = session.connection().execute(
        insert(REQUEST).returning(REQUEST.c.id),
        {"case_id": case_id, "kind": "supplement", "items": cleaned, "reason": reason,
         "requested_by_id": principal.id, "requested_at": now},
    ).scalar_one()
    Operation(session, row, Actor(principal.kind, principal.id), now, tz).finish(
        "case.supplement_requested",
        case_values={**pause_values(row, target, now), "reason": reason or None},
        delta={"supplement": {"request_id": request_id, "items": cleaned}},
    )
    return int(request_id)


def resubmit_case(
    session: Session,
    *,
    principal: Principal,
    case_id: int,
    form: dict[str, Any] | None = None,
    materials: dict[str, list[int]] | None = None,
    note: str = "",
    now: datetime | None = None,
    tz: str = "Asia/Shanghai",
) -> list[int]:
    """The applicant hands in the 补正 (or the returned case): the form and added materials; returns new task ids."""
    now = now or utcnow()
    row = lock_case(session, case_id)
    require(session, principal, "resubmit", row)
    require_status("resubmit", row)
    conn = session.connection()
    schema_text, materials_text, situations_text = conn.execute(
        _VERSION_SCHEMAS, {"b_id": row["matter_version_id"]}).one()
    # 办理情形 answered at submission still decide what applies (the answers are not re-asked).
    kept = (row["form"] or {}).get(situations.FORM_KEY)
    full_text = schema_text
    if kept is not None:
        schema_text, materials_text, _, _ = situation_applied(situations_text, schema_text, materials_text,
                                                              kept.get("answers"))
    changes: dict[str, Any] = {}
    values: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    if form is not None:
        cleaned, problems = _check_form(schema_text, without_left_out(form, full_text, schema_text))
        if kept is not None:
            cleaned[situations.FORM_KEY] = kept
        changes["form"] = _form_changes(row["form"] or {}, cleaned)
        values["form"] = cleaned
    given = {code: ids for code, ids in (materials or {}).items() if ids}
    problems += [p for p in _check_materials(conn, materials_text, given, principal) if p.code != "material_required"]
    if problems:
        raise InvalidInput(code="application_invalid", detail=f"补正材料有 {len(problems)} 处需要修改", errors=problems)
    if given:
        claim_attachments(conn, given, case_id=case_id, principal=principal)
        names = {m.code: m.name for m in _materials(materials_text)}
        changes["materials"] = {code: {"name": names[code], "added": ids} for code, ids in given.items()}
    if not changes.get("form") and not given:
        raise InvalidInput(code="nothing_changed", detail="请修改表单或补充材料后再提交")
    request = conn.execute(_OPEN_REQUEST, {"b_case_id": case_id}).mappings().first()
    back, timers, moved = resume_values(conn, row, now, tz)
    values.update(back)
    op = Operation(session, row, Actor(principal.kind, principal.id), now, tz)
    run = None
    if request is not None and request["kind"] == "return":
        values["status"] = CaseStatus.IN_PROGRESS.value
        run = op.new_run()
        run.case.form = values.get("form", run.case.form)
        if request["resume_mode"] != "direct" or not engine_returns.reopen(run, _returned_task(conn, request)):
            engine_returns.restart(run)
    if request is not None:
        conn.execute(
            update(REQUEST).where(REQUEST.c.id == request["id"]).values(
                resubmitted_at=now, resubmitted_by_id=principal.id, changes={**changes, "note": note[:MAX_TEXT]}
            )
        )
    op.finish(
        "case.resubmitted",
        case_values=values,
        delta={"changes": {**changes, "note": note[:MAX_TEXT] or None}, "materials": given, "task_dues": moved},
        inserts=[("timer", timers)],
    )
    return [t.id for t in run.new_tasks if t.id is not None] if run is not None else []


def suspend_case(
    session: Session, *, principal: Principal, case_id: int, reason: str, now: datetime | None = None,
    tz: str = "Asia/Shanghai",
) -> None:
    """挂起: the handling unit pauses the case, with a reason; its clock stops."""
    reason = _reason(reason, "请填写挂起理由")
    now = now or utcnow()
    row = lock_case(session, case_id)
    require(session, principal, "suspend", row)
    target = require_status("suspend", row)
    assert target is not None
    Operation(session, row, Actor(principal.kind, principal.id), now, tz).finish(
        "case.suspended", case_values={**pause_values(row, target, now), "reason": reason}
    )


def resume_case(
    session: Session, *, principal: Principal, case_id: int, reason: str = "", now: datetime | None = None,
    tz: str = "Asia/Shanghai",
) -> None:
    """恢复 a suspended case: the status before, the due time moved by the working days it was suspended."""
    now = now or utcnow()
    row = lock_case(session, case_id)
    require(session, principal, "resume", row)
    require_status("resume", row)
    values, timers, moved = resume_values(session.connection(), row, now, tz)
    Operation(session, row, Actor(principal.kind, principal.id), now, tz).finish(
        "case.resumed",
        case_values=values,
        delta={"resumed": {"note": reason.strip()[:MAX_TEXT] or None}, "task_dues": moved},
        inserts=[("timer", timers)],
    )


def _returned_task(conn: Any, request: Any) -> TaskRow | None:
    row = conn.execute(select(TASK).where(TASK.c.id == request["resume_task_id"])).mappings().first()
    return task_row(row) if row is not None else None


def _reason(reason: str, missing: str) -> str:
    reason = reason.strip()
    if not reason:
        raise InvalidInput(code="reason_required", detail=missing)
    if len(reason) > MAX_TEXT:
        raise InvalidInput(code="reason_too_long", detail=f"理由不能超过 {MAX_TEXT} 个字")
    return reason


def _require_handler(session: Session, principal: Principal, row: Any, action: str = "supplement") -> None:
    """A member of the handling unit, or a holder of one of the case's open tasks."""
    if can(principal, action, facts(row)):
        return
    for unit_id, post_id, assignee_id in session.execute(_OPEN_TASK_FACTS, {"b_case_id": row["id"]}):
        if can(principal, action, facts(row), TaskFacts(unit_id, post_id, assignee_id)):
            return
    refuse(session, principal, row)


def _check_items(session: Session, row: Any, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every wanted item has a note; a named material must be one of the matter's. All problems at once."""
    if not items:
        raise InvalidInput(code="items_required", detail="请列出需要补正的内容（一次性告知）")
    if len(items) > MAX_ITEMS:
        raise InvalidInput(code="too_many_items", detail=f"补正事项不能超过 {MAX_ITEMS} 条")
    materials_text = session.execute(_VERSION_SCHEMAS, {"b_id": row["matter_version_id"]}).one()[1]
    known = {m.code: m.name for m in _materials(materials_text)}
    cleaned, problems = [], []
    for i, item in enumerate(items):
        note = str(item.get("note") or "").strip()
        material = item.get("material") or None
        if not note:
            problems.append(FieldProblem(f"items.{i}.note", "请说明需要补正什么", "note_required"))
        elif len(note) > MAX_TEXT:
            problems.append(FieldProblem(f"items.{i}.note", f"说明不能超过 {MAX_TEXT} 个字", "note_too_long"))
        if material is not None and material not in known:
            problems.append(FieldProblem(f"items.{i}.material", f"该事项没有材料 {material}", "unknown_material"))
        field = item.get("field") or None
        cleaned.append({"material": material, "material_name": known.get(material or ""), "field": field,
                        "note": note})
    if problems:
        raise InvalidInput(code="supplement_invalid", detail=f"补正告知有 {len(problems)} 处需要修改", errors=problems)
    return cleaned


def _form_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Field by field, what the resubmission changed: {key: {"before": …, "after": …}}."""
    return {
        key: {"before": before.get(key), "after": after.get(key)}
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }

