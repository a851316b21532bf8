"""Persistence of engine state with SQLAlchemy Core: statements built once, constant rows per step.

The ORM costs about 4x on this path (measured while planning), so tasks, scopes and timers are
read and written here with Core on the caller's connection and transaction. Every statement is
built once at import with ``bindparam`` placeholders, so executing it reuses the compiled form
from SQLAlchemy's cache; rows of one kind are written in one call (a multi-row INSERT … RETURNING,
an executemany UPDATE), so a step costs the same few round trips whatever it opens or closes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, literal, select, update
from sqlalchemy.orm import Session

from xietong.db import fastpath
from xietong.engine.models import Scope, Task
from xietong.engine.state import Run, ScopeRow, Slot, TaskRow
from xietong.worker.models import Timer

SCOPE = Scope.__table__
TASK = Task.__table__
TIMER = Timer.__table__

_ACTIVE_SCOPES = select(SCOPE).where(SCOPE.c.case_id == bindparam("b_case_id"), SCOPE.c.state == "active")
_OPEN_TASKS_OF_SCOPE = select(TASK).where(TASK.c.scope_id == bindparam("b_scope_id"), TASK.c.state == "open")
# New rows come back with the columns that tell them apart within one run (a scope's generation is
# unique in its case; a task's scope, node and signer order are unique in one run), so a multi-row
# INSERT … RETURNING maps ids to rows without asking the database for parameter order — which
# SQLAlchemy can only give on SQLite by inserting one row per statement.
_SCOPE_KEY = ("generation",)
_TASK_KEY = ("scope_id", "node_id", "seq")
_INSERT_SCOPES = insert(SCOPE).returning(SCOPE.c.id, *(SCOPE.c[k] for k in _SCOPE_KEY))
_INSERT_SCOPES_IN_ORDER = insert(SCOPE).returning(SCOPE.c.id, sort_by_parameter_order=True)
_INSERT_TASKS = insert(TASK).returning(TASK.c.id, *(TASK.c[k] for k in _TASK_KEY))
_INSERT_TASKS_IN_ORDER = insert(TASK).returning(TASK.c.id, sort_by_parameter_order=True)
_INSERT_TIMERS = insert(TIMER)
_COMPLETE_TASK = (
    update(TASK)
    .where(TASK.c.id == bindparam("b_id"), TASK.c.state == "open")
    .values(
        state="completed",
        completed_by_id=bindparam("b_by"),
        completed_at=bindparam("b_now"),
        # Deciding a shared task claims it: keep an earlier 签收 time, and record the decider as its holder.
        claimed_at=func.coalesce(TASK.c.claimed_at, bindparam("b_now")),
        assignee_id=func.coalesce(TASK.c.assignee_id, bindparam("b_by")),
        outcome=bindparam("b_outcome"),
        opinion=bindparam("b_opinion"),
        working_days=bindparam("b_days"),
    )
)
SCOPE_CHANGES = ("state", "arrived", "approved_count", "denied_count", "outcome", "closed_at")


def scope_update(prefix: str) -> Any:
    """``UPDATE scope SET <SCOPE_CHANGES> WHERE id = …`` with parameters named ``prefix`` + column."""
    return (
        update(SCOPE)
        .where(SCOPE.c.id == bindparam(f"{prefix}id"))
        .values({c: bindparam(f"{prefix}{c}", type_=SCOPE.c[c].type) for c in SCOPE_CHANGES})
    )


_UPDATE_SCOPE = scope_update("b_")
_CANCEL_TASKS = (
    update(TASK)
    .where(TASK.c.id.in_(bindparam("b_ids", expanding=True)), TASK.c.state == "open")
    .values(state="cancelled", completed_at=bindparam("b_now"))
)


# PostgreSQL: the guarded completion and the case's active scopes in one round trip. The scopes are
# read in the statement's own snapshot, taken after the caller locked the case row, so they are
# as fresh as a separate read would be (unlike columns joined into the locking SELECT itself).
_DONE = _COMPLETE_TASK.returning(TASK.c.id).cte("done")
_ONE = select(literal(1).label("one")).subquery("one")
_COMPLETE_TASK_WITH_SCOPES = select(
    select(func.count()).select_from(_DONE).scalar_subquery().label("won"), *SCOPE.c
).select_from(
    _ONE.outerjoin(SCOPE, and_(SCOPE.c.case_id == bindparam("b_case_id"), SCOPE.c.state == "active"))
)


class EngineStore:
    """Reads and writes engine rows inside the caller's transaction."""

    def __init__(self, session: Session | Connection) -> None:
        self.conn: Connection = session if isinstance(session, Connection) else session.connection()

    # -- reads -----------------------------------------------------------------------------------
    def active_scopes(self, case_id: int) -> list[ScopeRow]:
        rows = fastpath.execute(self.conn, _ACTIVE_SCOPES, {"b_case_id": case_id}).rows
        return [_scope_row(r) for r in rows]

    def open_tasks(self, scope_id: int) -> list[TaskRow]:
        rows = fastpath.execute(self.conn, _OPEN_TASKS_OF_SCOPE, {"b_scope_id": scope_id}).rows
        return [task_row(r) for r in rows]

    # -- writes ----------------------------------------------------------------------------------
    def complete_task(
        self, task_id: int, *, by: int | None, approved: bool, opinion: str | None, now: datetime,
        days: int | None = None,
    ) -> bool:
        """The guarded completion: True for the one caller whose UPDATE found the task still open."""
        outcome = "approve" if approved else "deny"
        result = fastpath.execute(
            self.conn,
            _COMPLETE_TASK,
            {"b_id": task_id, "b_by": by, "b_now": now, "b_outcome": outcome, "b_opinion": opinion, "b_days": days},
        )
        return result.rowcount == 1

    def complete_task_with_scopes(
        self, task_id: int, case_id: int, *, by: int | None, approved: bool, opinion: str | None, now: datetime,
        days: int | None = None,
    ) -> tuple[bool, list[ScopeRow]]:
        """The guarded completion, and the case's active scopes for a run that will need them."""
        if self.conn.dialect.name != "postgresql":
            done = self.complete_task(task_id, by=by, approved=approved, opinion=opinion, now=now, days=days)
            return done, self.active_scopes(case_id) if done else []
        outcome = "approve" if approved else "deny"
        params = {
            "b_id": task_id, "b_by": by, "b_now": now, "b_outcome": outcome, "b_opinion": opinion, "b_days": days
        }
        rows = fastpath.execute(self.conn, _COMPLETE_TASK_WITH_SCOPES, {**params, "b_case_id": case_id}).rows
        return rows[0]["won"] == 1, [_scope_row(r) for r in rows if r["id"] is not None]

    def write(self, run: Run) -> None:
        """Insert and update every row the run created or changed."""
        for kind, rows in self.write_new(run):
            if kind == "scope":
                _execute(self.conn, _UPDATE_SCOPE, [{f"b_{k}": v for k, v in row.items()} for row in rows])
            else:
                _execute(self.conn, _INSERT_TIMERS, rows)

    def write_new(self, run: Run) -> list[tuple[str, list[dict[str, Any]]]]:
        """Insert the run's new scopes and tasks (it needs their ids) and cancel what it cancelled.

        Returns the remaining writes for the caller to send with its own (in one statement where
        the database allows): ``("scope", changed scope rows)`` and ``("timer", new task timers)``.
        """
        if run.new_scopes:
            self._insert_scopes(run.new_scopes, run.now)
        cancelled = [t.id for t in run.closed_tasks if t.state == "cancelled" and t.id is not None]
        if cancelled:
            self.conn.execute(_CANCEL_TASKS, {"b_ids": cancelled, "b_now": run.now})
        timers = self._insert_tasks(run.new_tasks) if run.new_tasks else []
        changed = [
            {
                "id": s.id,
                "state": s.state,
                "arrived": s.arrived,
                "approved_count": s.approved_count,
                "denied_count": s.denied_count,
                "outcome": s.outcome,
                "closed_at": run.now if s.state != "active" else None,
            }
            for s in run.changed_scopes
        ]
        return [(kind, rows) for kind, rows in (("scope", changed), ("timer", timers)) if rows]

    def _insert_scopes(self, scopes: list[ScopeRow], now: datetime) -> None:
        """One multi-row INSERT per level of nesting: a child needs its new parent's id."""
        pending = scopes
        while pending:
            level = [s for s in pending if s.parent is None or s.parent.id is not None]
            if not level:
                raise RuntimeError("new scopes whose parents are never written")
            for scope in level:
                scope.parent_id = scope.parent.id if scope.parent is not None else scope.parent_id
            ids = _insert_returning_ids(
                self.conn, _INSERT_SCOPES, _INSERT_SCOPES_IN_ORDER, _SCOPE_KEY, [_scope_values(s, now) for s in level]
            )
            for scope, scope_id in zip(level, ids, strict=True):
                scope.id = int(scope_id)
            pending = [s for s in pending if s.id is None]

    def _insert_tasks(self, tasks: list[TaskRow]) -> list[dict[str, Any]]:
        """Insert ``tasks``; returns their ``task_due`` timer rows."""
        ids = _insert_returning_ids(
            self.conn, _INSERT_TASKS, _INSERT_TASKS_IN_ORDER, _TASK_KEY, [_task_values(t) for t in tasks]
        )
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
        return timers


def _execute(conn: Connection, statement: Any, rows: list[dict[str, Any]]) -> None:
    """One row as a plain execute, several as one executemany call."""
    fastpath.execute(conn, statement, rows[0] if len(rows) == 1 else rows)


def _insert_returning_ids(
    conn: Connection, by_key: Any, in_order: Any, key: tuple[str, ...], rows: list[dict[str, Any]]
) -> Sequence[Any]:
    """Insert ``rows`` in one statement; their new ids in the order of ``rows``."""
    if len(rows) == 1:
        return [fastpath.execute(conn, by_key, rows[0]).scalar_one()]
    wanted = [tuple(row[k] for k in key) for row in rows]
    if len(set(wanted)) < len(wanted):  # rows the key cannot tell apart: let SQLAlchemy keep the order
        return conn.execute(in_order, rows).scalars().all()
    columns = tuple(rows[0])
    statement = _multi_row_insert(by_key.table, len(rows), columns, key)
    params = {f"r{i}_{c}": row[c] for i, row in enumerate(rows) for c in columns}
    ids = {tuple(found[1:]): found[0] for found in fastpath.execute(conn, statement, params).tuples()}
    return [ids[k] for k in wanted]


@lru_cache(maxsize=64)
def _multi_row_insert(table: Any, n_rows: int, columns: tuple[str, ...], key: tuple[str, ...]) -> Any:
    """``INSERT … VALUES (…), (…) RETURNING id, <key>`` for ``n_rows`` rows, built once per shape.

    Columns left out get their constant Python default, bound as a constant, so the fast path can send it.
    """
    defaults = {
        c.key: c.default.arg
        for c in table.columns
        if c.key not in columns and c.default is not None and c.default.is_scalar
    }
    values = [
        {
            **{c: bindparam(f"r{i}_{c}", type_=table.c[c].type) for c in columns},
            **{c: bindparam(f"r{i}_{c}", value, type_=table.c[c].type) for c, value in defaults.items()},
        }
        for i in range(n_rows)
    ]
    return insert(table).values(values).returning(table.c.id, *(table.c[k] for k in key))


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
