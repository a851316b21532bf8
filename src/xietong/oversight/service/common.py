"""What oversight operations share: the acting person, a case's open tasks and who holds them, notices.

Oversight rows of a case (urges, orders, ratings, copy grants) are written only while holding that
case's row lock (``cases.service.common.lock_case``), so the case lock orders them as it orders events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from xietong.cases.events import Actor
from xietong.directory.models import Membership
from xietong.engine.models import Task
from xietong.errors import InvalidInput
from xietong.security.permissions import TaskFacts
from xietong.security.principal import Principal

TASK = Task.__table__
MEMBERSHIP = Membership.__table__
MAX_TEXT = 2000


def actor(principal: Principal) -> Actor:
    return Actor(principal.kind, principal.id)


def clean_text(value: str, *, field: str, label: str, required: bool, limit: int = MAX_TEXT) -> str:
    """``value`` stripped; refused when required and empty, or longer than ``limit``."""
    value = value.strip()
    if required and not value:
        raise InvalidInput(code=f"{field}_required", detail=f"请填写{label}")
    if len(value) > limit:
        raise InvalidInput(code=f"{field}_too_long", detail=f"{label}不超过 {limit} 个字")
    return value


def open_tasks(conn: Connection, case_id: int) -> list[Mapping[str, Any]]:
    """The case's open tasks (id, unit, post, assignee), in id order."""
    query = (
        select(TASK.c.id, TASK.c.unit_id, TASK.c.post_id, TASK.c.assignee_id)
        .where(TASK.c.case_id == case_id, TASK.c.state == "open")
        .order_by(TASK.c.id)
    )
    return list(conn.execute(query).mappings())


def task_facts(task: Mapping[str, Any]) -> TaskFacts:
    return TaskFacts(task["unit_id"], task["post_id"], task["assignee_id"])


def holders(conn: Connection, tasks: Sequence[Mapping[str, Any]]) -> list[int]:
    """The people who hold these tasks: the assignee, or everyone holding the post of a shared task."""
    people = {t["assignee_id"] for t in tasks if t["assignee_id"] is not None}
    shared = [and_(MEMBERSHIP.c.unit_id == t["unit_id"], MEMBERSHIP.c.post_id == t["post_id"])
              for t in tasks if t["assignee_id"] is None and t["post_id"] is not None]
    if shared:
        people |= set(conn.execute(select(MEMBERSHIP.c.person_id).where(or_(*shared))).scalars())
    return sorted(people)


def unit_members(conn: Connection, unit_id: int) -> list[int]:
    """Everyone who belongs to the unit (an order is addressed to the unit, not to a post)."""
    query = select(MEMBERSHIP.c.person_id).where(MEMBERSHIP.c.unit_id == unit_id).distinct()
    return sorted(conn.execute(query).scalars())


def notice(
    topic: str, *, case_id: int, person_ids: Iterable[int], title: str, now: datetime, **extra: Any
) -> dict[str, Any]:
    """An outbox row telling ``person_ids`` about something; ``jobs.deliver_notice`` turns it into notifications."""
    return {
        "topic": topic,
        "key": str(case_id),
        "state": "pending",
        "attempts": 0,
        "payload": {"case_id": case_id, "person_ids": sorted(set(person_ids)), "title": title[:200], **extra},
        "created_at": now,
        "available_at": now,
    }


def case_label(row: Mapping[str, Any]) -> str:
    return f"{row['number']}（{row['title']}）"
