"""抄送: a handler copies a case to people who may then read it, and their read receipts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from xietong.cases.models import CaseGrant
from xietong.cases.service.common import Operation, facts, lock_case, refuse
from xietong.db.base import utcnow
from xietong.directory.models import Person
from xietong.errors import Conflict, FieldProblem, InvalidInput
from xietong.oversight.service.common import actor, case_label, clean_text, notice, open_tasks, task_facts
from xietong.security.permissions import can
from xietong.security.principal import Principal

GRANT = CaseGrant.__table__
PERSON = Person.__table__
MAX_RECIPIENTS = 50
TOPIC = "case.copied"


def copy_case(
    session: Session,
    *,
    principal: Principal,
    case_id: int,
    person_ids: Iterable[int],
    note: str = "",
    now: datetime | None = None,
    tz: str = "Asia/Shanghai",
) -> list[int]:
    """抄送 the case to people (one read-only grant each, never twice); returns who was newly copied."""
    wanted = sorted(set(person_ids) - {principal.id})
    if not wanted:
        raise InvalidInput(code="no_recipients", detail="请选择抄送对象（不含本人）")
    if len(wanted) > MAX_RECIPIENTS:
        raise InvalidInput(code="too_many_recipients", detail=f"一次最多抄送 {MAX_RECIPIENTS} 人")
    note = clean_text(note, field="note", label="抄送说明", required=False, limit=500)
    now = now or utcnow()
    row = lock_case(session, case_id)
    conn = session.connection()
    case = facts(row)
    if not (can(principal, "copy", case) or any(can(principal, "copy", case, task_facts(t))
                                                for t in open_tasks(conn, case_id))):
        refuse(session, principal, row, "只有办件的在办人员或承办单位人员可以抄送")
    active = set(conn.execute(select(PERSON.c.id).where(PERSON.c.id.in_(wanted), PERSON.c.active)).scalars())
    unknown = [p for p in wanted if p not in active]
    if unknown:
        raise InvalidInput(
            code="unknown_person", detail="抄送对象中有不存在或已停用的人员",
            errors=[FieldProblem(field="person_ids", message=f"人员 {p} 不存在或已停用") for p in unknown],
        )
    already = set(conn.execute(select(GRANT.c.person_id).where(
        GRANT.c.case_id == case_id, GRANT.c.kind == "copy", GRANT.c.person_id.in_(wanted))).scalars())
    new = [p for p in wanted if p not in already]
    if not new:
        raise Conflict(code="already_copied", detail="所选人员均已抄送过该办件")
    conn.execute(insert(GRANT), [
        {"case_id": case_id, "person_id": p, "kind": "copy", "granted_by_id": principal.id, "granted_at": now}
        for p in new
    ])
    message = notice(TOPIC, case_id=case_id, person_ids=new, title=f"抄送：{case_label(row)}", now=now,
                     kind="copy", note=note)
    Operation(session, row, actor(principal), now, tz).finish(
        TOPIC, delta={"oversight": {"copy": {"person_ids": new, "note": note}}}, inserts=[("outbox", [message])]
    )
    return new


def mark_copy_read(session: Session, *, principal: Principal, case_id: int, now: datetime) -> bool:
    """Record that a copied person has read the case (the first time only); True when it was unread.

    A read receipt is no case operation: it takes no case lock and appends no event, so reading a
    case never waits on the people handling it.
    """
    result = session.connection().execute(
        update(GRANT)
        .where(GRANT.c.case_id == case_id, GRANT.c.person_id == principal.id, GRANT.c.kind == "copy",
               GRANT.c.read_at.is_(None))
        .values(read_at=now)
    )
    return bool(result.rowcount)


def copy_unread(session: Session, *, principal: Principal, case_id: int) -> bool:
    """Whether the case was copied to this person and they have not read it yet (a cheap indexed read)."""
    if principal.id is None:
        return False
    query = select(GRANT.c.id).where(
        GRANT.c.case_id == case_id, GRANT.c.person_id == principal.id, GRANT.c.kind == "copy",
        GRANT.c.read_at.is_(None),
    )
    return session.connection().execute(query.limit(1)).first() is not None
