"""From the change log to messages: which committed events notify whom in the messaging app.

- a task opened (``tasks_opened`` in any event's delta) → a to-do for who may take it and a 新待办 work notice;
- a task completed (``task_completed``) → its to-do done; a task closed otherwise (``tasks_closed``: cancelled,
  withdrawn, ended with its branch) → its to-do deleted; only to-dos this follower created are touched;
- ``case.card_yellow`` / ``case.card_red`` → a work notice to the holders of the case's open tasks; a red card
  also posts to the group robot, naming the handling unit;
- ``case.urged`` → a work notice to the people the urge notified;
- ``case.supervision_ordered`` / ``case.rectification_ordered`` → a work notice to the ordered unit's members.

Recipients who switched messaging off (``preferences.py``) or have left are dropped; the in-app list is written by
the cases and oversight domains and is always on. Every message id is derived from the event (``e<id>-…``), so
the follower can never queue one twice and the messaging system de-duplicates a re-sent one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.cases.models import Case
from xietong.directory.models import Membership, Person, Unit
from xietong.engine.models import Task
from xietong.integrations.feed import Committed, follow
from xietong.integrations.messaging.channel import NAME
from xietong.integrations.messaging.preferences import employee_codes
from xietong.integrations.models import OutboundMessage
from xietong.integrations.outbound import enqueue

CURSOR = "messaging"
ORDERS = {"case.supervision_ordered": "督办", "case.rectification_ordered": "整改"}


def follow_messaging(session: Session) -> int:
    """The worker's duty: turn the next events into messaging-app messages."""
    return follow(session, CURSOR, _handle)


def _handle(session: Session, event: Committed) -> None:
    delta = event.delta or {}
    case = session.execute(select(Case.number, Case.title, Case.handling_unit_id)
                           .where(Case.id == event.case_id)).one_or_none()
    if case is None:
        return
    label = f"{case.number} {case.title}"
    for opened in delta.get("tasks_opened") or ():
        _todo_opened(session, event, int(opened["id"]), label)
    completed = delta.get("task_completed")
    ended: dict[int, bool] = {}
    if completed and completed.get("id") is not None:
        ended[int(completed["id"])] = False
    for closed in delta.get("tasks_closed") or ():
        ended.setdefault(int(closed["id"]), closed.get("state") != "completed")
    for task_id, cancelled in ended.items():
        _todo_ended(session, event, task_id, cancelled=cancelled)
    if event.type in ("case.card_yellow", "case.card_red"):
        colour = "红牌" if event.type == "case.card_red" else "黄牌"
        people = session.scalars(select(Task.assignee_id).where(Task.case_id == event.case_id,
                                                                Task.state == "open", Task.assignee_id.is_not(None)))
        holders = set(people) | set(_open_task_candidates(session, event.case_id))
        _notice(session, event, holders, f"{colour}预警", f"办件 {label} 亮{colour}，请尽快办理。")
        if event.type == "case.card_red":
            unit = session.scalar(select(Unit.name).where(Unit.id == case.handling_unit_id)) or ""
            _queue(session, event, "robot", {"text": f"【红牌】{unit}：办件 {label} 已超期亮红牌，请督促办理。"})
    urge = (delta.get("oversight") or {}).get("urge")
    if event.type == "case.urged" and urge:
        note = f"（{urge['note']}）" if urge.get("note") else ""
        _notice(session, event, urge.get("notified") or (), "催办", f"办件 {label} 被催办{note}，请尽快办理。")
    order = (delta.get("oversight") or {}).get("order")
    if event.type in ORDERS and order:
        members = session.scalars(select(Membership.person_id).where(Membership.unit_id == order["unit_id"]))
        what = ORDERS[event.type]
        _notice(session, event, set(members), f"{what}通知", f"办件 {label} 收到{what}：{order.get('content', '')}")


def _queue(session: Session, event: Committed, kind: str, payload: dict[str, Any], *, key: str | None = None,
           suffix: str = "") -> None:
    enqueue(session, NAME, kind, payload, key=key, message_id=f"e{event.id}-{kind}{suffix}"[:64])


def _notice(session: Session, event: Committed, person_ids: Any, title: str, text: str, *, suffix: str = "") -> None:
    codes = employee_codes(session, person_ids)
    if codes:
        _queue(session, event, "notice", {"employee_codes": codes, "title": title, "text": text}, suffix=suffix)


def _candidates(session: Session, assignee_id: int | None, unit_id: int, post_id: int | None) -> list[int]:
    """Who may take a task: its assignee, or every active holder of its post in its unit."""
    if assignee_id is not None:
        return [assignee_id]
    if post_id is None:
        return []
    return list(session.scalars(
        select(Membership.person_id).join(Person, Person.id == Membership.person_id)
        .where(Membership.unit_id == unit_id, Membership.post_id == post_id, Person.active.is_(True)).distinct()))


def _open_task_candidates(session: Session, case_id: int) -> list[int]:
    people: list[int] = []
    for task in session.execute(select(Task.assignee_id, Task.unit_id, Task.post_id)
                                .where(Task.case_id == case_id, Task.state == "open")):
        people += _candidates(session, task.assignee_id, task.unit_id, task.post_id)
    return people


def _todo_opened(session: Session, event: Committed, task_id: int, label: str) -> None:
    task = session.execute(select(Task.name, Task.state, Task.assignee_id, Task.unit_id, Task.post_id)
                           .where(Task.id == task_id)).one_or_none()
    if task is None or task.state != "open":
        return  # already closed again: its closing event comes next and there is nothing to create or finish
    codes = employee_codes(session, _candidates(session, task.assignee_id, task.unit_id, task.post_id))
    if not codes:
        return
    source_id = f"xietong-task-{task_id}-e{event.id}"
    _queue(session, event, "todo.create",
           {"source_id": source_id, "task_id": task_id, "employee_codes": codes, "subject": f"{task.name}：{label}",
            "description": f"协同办件 {label} 的「{task.name}」环节待您办理"},
           key=f"task-{task_id}", suffix=f"-{task_id}")
    _queue(session, event, "notice", {"employee_codes": codes, "title": "新待办",
                                      "text": f"您有新的待办：{task.name}（{label}）"}, suffix=f"-{task_id}")


def _todo_ended(session: Session, event: Committed, task_id: int, *, cancelled: bool) -> None:
    """Finish (or delete) the task's latest to-do, if one was created and not finished yet."""
    m = OutboundMessage
    last = session.execute(select(m.kind, m.payload).where(m.channel == NAME, m.key == f"task-{task_id}")
                           .order_by(m.id.desc()).limit(1)).first()
    if last is None or last.kind != "todo.create":
        return
    _queue(session, event, "todo.finish", {"source_id": last.payload["source_id"], "cancelled": cancelled},
           key=f"task-{task_id}", suffix=f"-{task_id}")
