"""Persistence of engine state with SQLAlchemy Core: statements built once, constant rows per step.

The ORM costs about 4x on this path (measured while planning), so tasks, scopes and timers are
read and written here with Core on the caller's connection and transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.orm import Session

from xietong.engine.models import Scope, Task
from xietong.engine.state import Run, ScopeRow, Slot, TaskRow
from xietong.worker.models import Timer

SCOPE = Scope.__table__
TASK = Task.__table__
TIMER = Timer.__table__

_ACTIVE_SCOPES = select(SCOPE).where(SCOPE.c.state == "active")
_OPEN_TASKS_OF_SCOPE = select(TASK).where(TASK.c.state == "open")
_INSERT_SCOPE = insert(SCOPE).returning(SCOPE.c.id)
_INSERT_TASKS = insert(TASK).returning(TASK.c.id, sort_by_parameter_order=True)
_INSERT_TIMERS = insert(TIMER)
_COMPLETE_TASK = update(TASK).where(TASK.c.state == "open").values(state="completed")


class EngineStore:
    """Reads and writes engine rows inside the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.conn: Connection = session.connection()

    # -- reads -----------------------------------------------------------------------------------
    def active_scopes(self, case_id: int) -> list[ScopeRow]:
        rows = self.conn.execute(_ACTIVE_SCOPES.where(SCOPE.c.case_id == case_id)).mappings()
        return [_scope_row(r) for r in rows]

    def open_tasks(self, scope_id: int) -> list[TaskRow]:
        rows = self.conn.execute(_OPEN_TASKS_OF_SCOPE.where(TASK.c.scope_id == scope_id)).mappings()
        return [task_row(r) for r in rows]

    # -- writes ----------------------------------------------------------------------------------
    def complete_task(self, task_id: int, *, by: int, approved: bool, opinion: str | None, now: datetime) -> bool:
        """The guarded completion: True for the one caller whose UPDATE found the task still open."""
        result = self.conn.execute(
            _COMPLETE_TASK.where(TASK.c.id == task_id),
            {
                "completed_by_id": by,
                "completed_at": now,
                "outcome": "approve" if approved else "deny",
                "opinion": opinion,
                "claimed_at": now,
            },
        )
        return result.rowcount == 1

    def write(self, run: Run) -> None:
        """Insert and update every row the run created or changed."""
        for scope in run.new_scopes:
            scope.parent_id = scope.parent.id if scope.parent is not None else scope.parent_id
            scope.id = self.conn.execute(_INSERT_SCOPE, _scope_values(scope, run.now)).scalar_one()
        for scope in run.changed_scopes:
            closed = run.now if scope.state != "active" else None
            self.conn.execute(
                update(SCOPE)
                .where(SCOPE.c.id == scope.id)
                .values(
                    state=scope.state,
                    arrived=scope.arrived,
                    approved_count=scope.approved_count,
                    denied_count=scope.denied_count,
                    outcome=scope.outcome,
                    closed_at=closed,
                )
            )
        cancelled = [t.id for t in run.closed_tasks if t.state == "cancelled" and t.id is not None]
        if cancelled:
            self.conn.execute(
                update(TASK)
                .where(TASK.c.id.in_(cancelled), TASK.c.state == "open")
                .values(state="cancelled", completed_at=run.now)
            )
        if run.new_tasks:
            self._insert_tasks(run.new_tasks)

    def _insert_tasks(self, tasks: list[TaskRow]) -> None:
        values = [_task_values(t) for t in tasks]
        ids = self.conn.execute(_INSERT_TASKS, values).scalars().all()
        timers = []
        for task, task_id in zip(tasks, ids, strict=True):
            task.id = int(task_id)
            if task.due_at is not None:
                timers.append(
                    {
                        "kind": "task_due",
                        "case_id": task.case_id,
                        "task_id": task.id,
                        "fire_at": task.due_at,
                        "state": "pending",
                        "payload": {},
                        "attempts": 0,
                    }
                )
        if timers:
            self.conn.execute(_INSERT_TIMERS, timers)


def _scope_values(scope: ScopeRow, now: datetime) -> dict[str, Any]:
    return {
        "case_id": scope.case_id,
        "parent_id": scope.parent_id,
        "kind": scope.kind,
        "node_id": scope.node_id,
        "generation": scope.generation,
        "state": scope.state,
        "expected": scope.expected,
        "arrived": scope.arrived,
        "approved_count": scope.approved_count,
        "denied_count": scope.denied_count,
        "outcome": scope.outcome,
        "data": scope.data,
        "created_at": now,
        "closed_at": now if scope.state != "active" else None,
    }


def _task_values(task: TaskRow) -> dict[str, Any]:
    scope_id = task.scope.id if task.scope is not None else task.scope_id
    task.scope_id = scope_id
    return {
        "case_id": task.case_id,
        "scope_id": scope_id,
        "node_id": task.node_id,
        "name": task.name,
        "seq": task.seq,
        "unit_id": task.slot.unit_id,
        "post_id": task.slot.post_id,
        "assignee_id": task.slot.person_id,
        "acting_for_id": task.slot.acting_for_id,
        "state": task.state,
        "created_at": task.created_at,
        "due_at": task.due_at,
        "claimed_at": None,
        "completed_at": None,
        "completed_by_id": None,
        "outcome": None,
        "opinion": None,
    }


def _scope_row(r: Any) -> ScopeRow:
    return ScopeRow(
        id=r["id"],
        case_id=r["case_id"],
        parent_id=r["parent_id"],
        kind=r["kind"],
        node_id=r["node_id"],
        generation=r["generation"],
        state=r["state"],
        expected=r["expected"],
        arrived=r["arrived"],
        approved_count=r["approved_count"],
        denied_count=r["denied_count"],
        outcome=r["outcome"],
        data=dict(r["data"] or {}),
    )


def task_row(r: Any) -> TaskRow:
    """A TaskRow from a result mapping of the task table."""
    return TaskRow(
        id=r["id"],
        case_id=r["case_id"],
        scope=None,
        scope_id=r["scope_id"],
        node_id=r["node_id"],
        name=r["name"],
        seq=r["seq"],
        slot=Slot(
            unit_id=r["unit_id"], post_id=r["post_id"], person_id=r["assignee_id"], acting_for_id=r["acting_for_id"]
        ),
        created_at=r["created_at"],
        state=r["state"],
        due_at=r["due_at"],
        outcome=r["outcome"],
        opinion=r["opinion"],
        completed_by_id=r["completed_by_id"],
        completed_at=r["completed_at"],
    )
