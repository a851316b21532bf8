"""催办: the applicant or a supervisor reminds the current handlers of an accepted case."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from xietong.cases.enums import CaseStatus
from xietong.cases.service.common import Operation, lock_case, require
from xietong.db.base import utcnow
from xietong.errors import Conflict
from xietong.oversight.models import Urge, UrgeTask
from xietong.oversight.service.common import actor, case_label, clean_text, holders, notice, open_tasks
from xietong.security.principal import Principal

URGE = Urge.__table__
URGE_TASK = UrgeTask.__table__
URGE_INTERVAL = timedelta(hours=1)
URGEABLE = frozenset({CaseStatus.ACCEPTED, CaseStatus.IN_PROGRESS})
TOPIC = "case.urged"


def urge_case(
    session: Session,
    *,
    principal: Principal,
    case_id: int,
    note: str = "",
    now: datetime | None = None,
    tz: str = "Asia/Shanghai",
    min_interval: timedelta = URGE_INTERVAL,
) -> int:
    """催办 the holders of the case's open tasks; returns the urge's id."""
    note = clean_text(note, field="note", label="催办说明", required=False, limit=500)
    now = now or utcnow()
    row = lock_case(session, case_id)
    require(session, principal, "urge", row)
    if row["status"] not in URGEABLE:
        raise Conflict(
            code="wrong_case_status", detail="只能催办已受理、正在办理的办件", extra={"status": row["status"]}
        )
    conn = session.connection()
    tasks = open_tasks(conn, case_id)
    if not tasks:
        raise Conflict(code="nothing_to_urge", detail="该办件当前没有待办环节，无需催办")
    last = conn.execute(
        select(func.max(URGE.c.at)).where(URGE.c.case_id == case_id, URGE.c.by_id == principal.id)
    ).scalar()
    if last is not None and now - last < min_interval:
        minutes = max(1, int((min_interval - (now - last)).total_seconds() // 60) + 1)
        raise Conflict(
            code="urged_recently",
            detail=f"您已催办过该办件，请 {minutes} 分钟后再催",
            extra={"retry_after_minutes": minutes},
        )
    urge_id = conn.execute(
        insert(URGE).values(case_id=case_id, by_id=principal.id, at=now, note=note).returning(URGE.c.id)
    ).scalar_one()
    task_ids = [t["id"] for t in tasks]
    conn.execute(insert(URGE_TASK), [{"urge_id": urge_id, "task_id": t} for t in task_ids])
    people = holders(conn, tasks)
    message = notice(
        TOPIC, case_id=case_id, person_ids=people, title=f"催办：{case_label(row)}", now=now,
        kind="urge", urge_id=urge_id, note=note,
    )
    Operation(session, row, actor(principal), now, tz).finish(
        TOPIC,
        delta={"oversight": {"urge": {"id": urge_id, "task_ids": task_ids, "note": note, "notified": people}}},
        inserts=[("outbox", [message])],
    )
    return int(urge_id)
