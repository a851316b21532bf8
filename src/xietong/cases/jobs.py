"""The cases domain's outbox handlers: ``task.opened`` becomes in-app notifications for who may take the task."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from xietong.cases.models import Case, Notification
from xietong.directory.models import Membership, Person
from xietong.engine.models import Task
from xietong.worker.outbox import handles

TASK_OPENED = "task_opened"


@handles("task.opened")
def notify_task_opened(session: Session, payload: dict[str, Any]) -> None:
    """One notification per still-open task: to its assignee, or to every active holder of its post in its unit."""
    task_ids = [int(task_id) for task_id in payload.get("task_ids") or [] if task_id is not None]
    if not task_ids:
        return
    query = (
        select(Task.id, Task.name, Task.unit_id, Task.post_id, Task.assignee_id, Case.id.label("case_id"),
               Case.number, Case.title)
        .join(Case, Case.id == Task.case_id)
        .where(Task.id.in_(task_ids), Task.state == "open")
        .order_by(Task.id)
    )
    rows = []
    for task in session.execute(query):
        title = f"新待办：{task.name}（{task.number} {task.title}）"[:200]
        for person_id in _recipients(session, task.assignee_id, task.unit_id, task.post_id):
            rows.append({"person_id": person_id, "case_id": task.case_id, "kind": TASK_OPENED, "title": title})
    if rows:
        session.execute(insert(Notification), rows)


def _recipients(session: Session, assignee_id: int | None, unit_id: int, post_id: int | None) -> list[int]:
    if assignee_id is not None:
        return [assignee_id]
    if post_id is None:
        return []
    holders = (
        select(Membership.person_id)
        .join(Person, Person.id == Membership.person_id)
        .where(Membership.unit_id == unit_id, Membership.post_id == post_id, Person.active.is_(True))
        .distinct()
        .order_by(Membership.person_id)
    )
    return list(session.scalars(holders))
