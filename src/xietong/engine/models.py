"""Engine state as rows: execution scopes (with generations) and tasks.

A case has one ``process`` scope; a parallel split opens a ``parallel`` scope with one ``branch``
scope per outgoing path; a multi-instance step opens a ``multi`` scope. A scope row is one
activation: re-entering a node after a return opens a new row with a new generation, so a join
only ever counts the arrivals recorded on its own row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from xietong.db.base import Base, BigId, utcnow

OPEN = text("state = 'open'")


class Scope(Base):
    __tablename__ = "scope"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("scope.id"))
    kind: Mapped[str] = mapped_column(String(12))  # process | parallel | branch | multi
    node_id: Mapped[str] = mapped_column(String(64))
    generation: Mapped[int]
    state: Mapped[str] = mapped_column(String(12), default="active")  # active | completed | cancelled
    expected: Mapped[int] = mapped_column(default=0)
    arrived: Mapped[int] = mapped_column(default=0)
    approved_count: Mapped[int] = mapped_column(default=0)
    denied_count: Mapped[int] = mapped_column(default=0)
    outcome: Mapped[str | None] = mapped_column(String(12))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_scope_case_state", "case_id", "state"),)


class Task(Base):
    """A to-do: for one person (``assignee``) or shared by the holders of a post in a unit."""

    __tablename__ = "task"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    scope_id: Mapped[int] = mapped_column(ForeignKey("scope.id"))
    node_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    seq: Mapped[int] = mapped_column(default=0)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("post.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    acting_for_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    state: Mapped[str] = mapped_column(String(12), default="open")  # open | completed | cancelled
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    outcome: Mapped[str | None] = mapped_column(String(12))  # approve | deny
    opinion: Mapped[str | None] = mapped_column(Text)
    working_days: Mapped[int | None]  # when closed by a person: working days after the day it opened
    card: Mapped[str] = mapped_column(String(8), default="none", server_default="none")  # none | red (overdue step)
    delegate_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))  # 委派: a colleague works on it now
    delegated_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_task_case_state", "case_id", "state"),
        Index("ix_task_open_assignee", "assignee_id", postgresql_where=OPEN, sqlite_where=OPEN),
        Index("ix_task_open_post", "unit_id", "post_id", postgresql_where=OPEN, sqlite_where=OPEN),
        Index("ix_task_open_delegate", "delegate_id", postgresql_where=OPEN, sqlite_where=OPEN),
        Index("ix_task_done_by", "completed_by_id", "completed_at"),
        Index("ix_task_scope", "scope_id"),
    )
