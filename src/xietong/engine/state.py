"""The working set of one engine operation: the case's view, its scopes and tasks, and what changed.

Transitions mutate a ``Run`` in memory; a store (database or bulk generator) then writes exactly
the rows the run marks as new or changed. Nothing here touches a database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from xietong.engine.definition import CompiledProcess


@dataclass
class CaseView:
    """What the engine needs to know about a case (the engine does not know the cases domain)."""

    id: int
    form: dict[str, Any]
    step_results: dict[str, Any]
    scope_seq: int
    applicant_unit_id: int
    handling_unit_id: int
    region_id: int
    process_state: str = "not_started"


@dataclass(eq=False)
class ScopeRow:
    case_id: int
    kind: str  # process | parallel | branch | multi
    node_id: str
    generation: int
    parent: ScopeRow | None = None
    parent_id: int | None = None
    id: int | None = None
    state: str = "active"
    expected: int = 0
    arrived: int = 0
    approved_count: int = 0
    denied_count: int = 0
    outcome: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Slot:
    """Where a task lands: a unit, optionally a post in it (shared task), optionally a person."""

    unit_id: int
    post_id: int | None = None
    person_id: int | None = None
    acting_for_id: int | None = None

    def as_json(self) -> dict[str, int | None]:
        return {
            "unit_id": self.unit_id,
            "post_id": self.post_id,
            "person_id": self.person_id,
            "acting_for_id": self.acting_for_id,
        }


@dataclass(eq=False)
class TaskRow:
    case_id: int
    scope: ScopeRow | None
    node_id: str
    name: str
    slot: Slot
    created_at: datetime
    scope_id: int | None = None
    id: int | None = None
    seq: int = 0
    state: str = "open"
    due_at: datetime | None = None
    outcome: str | None = None
    opinion: str | None = None
    completed_by_id: int | None = None
    completed_at: datetime | None = None


class Assigner(Protocol):
    """Turns a node's relative assignment rule into concrete slots for one case."""

    def slots(self, node_id: str, rule: Any, case: CaseView, *, multi: bool, now: datetime) -> list[Slot]: ...


class ScopeLoader(Protocol):
    def active_scopes(self, case_id: int) -> list[ScopeRow]: ...

    def open_tasks(self, scope_id: int) -> list[TaskRow]: ...


DueFor = Callable[[datetime, int | None], datetime | None]


@dataclass
class Run:
    """One operation on one case: inputs, and every row it creates or changes."""

    case: CaseView
    process: CompiledProcess
    now: datetime
    assigner: Assigner
    loader: ScopeLoader
    due_for: DueFor
    new_scopes: list[ScopeRow] = field(default_factory=list)
    changed_scopes: list[ScopeRow] = field(default_factory=list)
    new_tasks: list[TaskRow] = field(default_factory=list)
    closed_tasks: list[TaskRow] = field(default_factory=list)
    finished: bool = False
    _scopes: dict[int, ScopeRow] | None = None

    def scope_by_id(self, scope_id: int) -> ScopeRow:
        """An active scope of the case with its parents linked (loaded once per run)."""
        return self.active_scopes()[scope_id]

    def active_scopes(self) -> dict[int, ScopeRow]:
        """The case's scopes that were active when the run began, by id, parents linked (loaded once)."""
        if self._scopes is None:
            self.preload_scopes(self.loader.active_scopes(self.case.id))
        assert self._scopes is not None
        return self._scopes

    def preload_scopes(self, rows: list[ScopeRow]) -> None:
        """Hand the run the case's active scopes read along with something else (saves the loader a query)."""
        self._scopes = {row.id: row for row in rows if row.id is not None}
        for row in rows:
            if row.parent_id is not None:
                row.parent = self._scopes.get(row.parent_id)

    def open_scope(self, kind: str, node_id: str, parent: ScopeRow | None, **values: Any) -> ScopeRow:
        self.case.scope_seq += 1
        scope = ScopeRow(
            case_id=self.case.id, kind=kind, node_id=node_id, generation=self.case.scope_seq, parent=parent, **values
        )
        self.new_scopes.append(scope)
        return scope

    def touch(self, scope: ScopeRow) -> None:
        if scope.id is not None and scope not in self.changed_scopes:
            self.changed_scopes.append(scope)

    def open_task(self, node_id: str, scope: ScopeRow, slot: Slot, seq: int = 0) -> TaskRow:
        node = self.process.node(node_id)
        task = TaskRow(
            case_id=self.case.id,
            scope=scope,
            node_id=node_id,
            name=node.name,
            slot=slot,
            created_at=self.now,
            seq=seq,
            due_at=self.due_for(self.now, node.limit_days),
        )
        self.new_tasks.append(task)
        return task

    def close_task(self, task: TaskRow, state: str) -> None:
        task.state = state
        task.completed_at = self.now
        self.closed_tasks.append(task)
