"""委派: a handler lends one task to a colleague, who works on it and hands it back; the holder then decides.

Unlike 转办 the task stays the holder's: it is only marked ``delegate_id`` while lent, appears in the
colleague's to-do, and cannot be decided, returned, transferred or released by its holder until it comes
back — the colleague hands it back with their opinion, or the holder takes it back (收回). Both are events
of the case (``task_delegated`` / ``task_handed_back``), so the timeline shows who worked on what.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from xietong.cases.events import Actor
from xietong.cases.service.common import Operation, require_status
from xietong.cases.service.tasks import MAX_OPINION, lock_task
from xietong.db.base import utcnow
from xietong.directory.models import Membership, Person
from xietong.engine.models import Task
from xietong.errors import Conflict, Forbidden, InvalidInput
from xietong.security.principal import Principal

TASK = Task.__table__
_COLLEAGUE = (
    select(Person.active)
    .join(Membership, Membership.person_id == Person.id)
    .where(Person.id == bindparam("b_person"), Membership.unit_id == bindparam("b_unit"))
    .limit(1)
)
_LEND = (
    update(TASK)
    .where(TASK.c.id == bindparam("b_id"), TASK.c.state == "open", TASK.c.delegate_id.is_(None))
    .values(delegate_id=bindparam("b_to"), delegated_at=bindparam("b_now"))
)
_GIVE_BACK = (
    update(TASK)
    .where(TASK.c.id == bindparam("b_id"), TASK.c.state == "open", TASK.c.delegate_id == bindparam("b_from"))
    .values(delegate_id=None, delegated_at=None)
)


def delegate_task(
    session: Session, *, principal: Principal, task_id: int, to_person_id: int, note: str = "",
    now: datetime | None = None, tz: str = "Asia/Shanghai",
) -> None:
    """委派 one's own open task to an active colleague of the task's unit."""
    if len(note) > MAX_OPINION:
        raise InvalidInput(code="opinion_too_long", detail=f"委派说明不能超过 {MAX_OPINION} 个字")
    now = now or utcnow()
    row = lock_task(session, task_id, principal)
    if row["task_assignee_id"] != principal.id:
        detail = "请先签收该岗位待办，再委派" if row["task_assignee_id"] is None else "只有待办的办理人可以委派"
        raise Forbidden(code="not_your_task", detail=detail)
    require_status("complete_task", row)
    if to_person_id == principal.id:
        raise InvalidInput(code="delegate_to_self", detail="不能委派给本人")
    active = session.execute(_COLLEAGUE, {"b_person": to_person_id, "b_unit": row["task_unit_id"]}).scalar()
    if not active:
        raise Conflict(code="delegate_outside_unit", detail="只能委派给本单位在岗的人员")
    if session.execute(_LEND, {"b_id": task_id, "b_to": to_person_id, "b_now": now}).rowcount != 1:
        raise Conflict(code="task_delegated", detail="该待办已委派给他人")
    Operation(session, row, Actor(principal.kind, principal.id), now, tz).finish(
        "task.delegated", delta={"task_delegated": {"id": task_id, "to": to_person_id, "note": note.strip() or None}}
    )


def hand_back_task(
    session: Session, *, principal: Principal, task_id: int, opinion: str = "", now: datetime | None = None,
    tz: str = "Asia/Shanghai",
) -> None:
    """The colleague hands the task back with their opinion — or its holder takes it back (收回)."""
    if len(opinion) > MAX_OPINION:
        raise InvalidInput(code="opinion_too_long", detail=f"意见不能超过 {MAX_OPINION} 个字")
    now = now or utcnow()
    row = lock_task(session, task_id, principal)
    delegate = row["task_delegate_id"]
    if delegate is None:
        raise Conflict(code="not_delegated", detail="该待办没有委派")
    if principal.id not in (delegate, row["task_assignee_id"]):
        raise Forbidden(code="not_allowed", detail="只有受委派人或待办的办理人可以交回")
    if session.execute(_GIVE_BACK, {"b_id": task_id, "b_from": delegate}).rowcount != 1:
        raise Conflict(code="not_delegated", detail="该待办已经交回")
    recalled = principal.id != delegate
    Operation(session, row, Actor(principal.kind, principal.id), now, tz).finish(
        "task.delegation_recalled" if recalled else "task.handed_back",
        delta={"task_handed_back": {"id": task_id, "by": principal.id, "opinion": opinion.strip() or None}},
    )
