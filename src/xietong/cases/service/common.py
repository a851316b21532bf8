"""What every case operation shares: the case row lock, the permission check, and writing a run.

Lock order (docs/concurrency.md): the case row first (``FOR UPDATE``; SQLite's BEGIN IMMEDIATE
already serialises writers), then that case's scopes and tasks, then counters. An operation on
several cases locks them in ascending id order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from xietong.cases.enums import TRANSITIONS, CaseStatus
from xietong.cases.events import Actor, append_event
from xietong.cases.models import Case, CaseParty
from xietong.catalog.models import MatterVersion, ProcessDefinition
from xietong.directory.models import Unit
from xietong.engine.assignment import DirectoryAssigner
from xietong.engine.definition import CompiledProcess, compile_process
from xietong.engine.state import CaseView, Run
from xietong.engine.store import EngineStore
from xietong.errors import Conflict, Forbidden, NotFound
from xietong.security.permissions import CaseFacts, can
from xietong.security.principal import Principal
from xietong.system.calendar import work_calendar
from xietong.worker.models import OutboxMessage

CASE = Case.__table__
PARTY = CaseParty.__table__
OUTBOX = OutboxMessage.__table__
_INSERT_OUTBOX = insert(OUTBOX)
_compiled: dict[str, CompiledProcess] = {}

LOCK_COLUMNS = (
    CASE,
    MatterVersion.__table__.c.process_definition_id.label("pd_id"),
    ProcessDefinition.__table__.c.digest,
    Unit.__table__.c.path.label("handling_unit_path"),
)


def locked_case_query() -> Any:
    """SELECT the case with its process digest and handling unit path, locking only the case row."""
    return (
        select(*LOCK_COLUMNS)
        .join(MatterVersion, MatterVersion.id == CASE.c.matter_version_id)
        .join(ProcessDefinition, ProcessDefinition.id == MatterVersion.process_definition_id)
        .join(Unit, Unit.id == CASE.c.handling_unit_id)
        .with_for_update(of=CASE)
    )


def lock_case(session: Session, case_id: int) -> Mapping[str, Any]:
    row = session.connection().execute(locked_case_query().where(CASE.c.id == case_id)).mappings().first()
    if row is None:
        raise NotFound(code="case_not_found", detail=f"办件不存在（编号 {case_id}）")
    return row


def facts(row: Mapping[str, Any]) -> CaseFacts:
    return CaseFacts(
        id=row["id"],
        region_id=row["region_id"],
        handling_unit_id=row["handling_unit_id"],
        applicant_unit_id=row["applicant_unit_id"],
        applicant_person_id=row["applicant_person_id"],
        party_units=row["party_units"],
        handling_unit_path=row.get("handling_unit_path") or "",
    )


def require(principal: Principal, action: str, row: Mapping[str, Any], task: Any = None) -> None:
    if not can(principal, action, facts(row), task):
        raise Forbidden(code="not_allowed", detail="您无权对该办件执行此操作")


def require_status(operation: str, row: Mapping[str, Any]) -> CaseStatus | None:
    """Check the case may undergo ``operation`` now; returns the status it leads to."""
    allowed, target = TRANSITIONS[operation]
    status = CaseStatus(row["status"])
    if status not in allowed:
        raise Conflict(
            code="wrong_case_status",
            detail=f"办件当前状态为“{_label(status)}”，不能执行此操作",
            extra={"status": status.value},
        )
    return target


def _label(status: CaseStatus) -> str:
    from xietong.cases.enums import STATUS_LABELS

    return STATUS_LABELS[status]


def process_of(conn: Connection, row: Mapping[str, Any]) -> CompiledProcess:
    """The compiled process of the case's version, cached by content digest (immutable)."""
    digest = row["digest"]
    compiled = _compiled.get(digest)
    if compiled is None:
        body = conn.execute(select(ProcessDefinition.body).where(ProcessDefinition.digest == digest)).scalar_one()
        compiled = _compiled[digest] = compile_process(body)
    return compiled


@dataclass
class Operation:
    """One operation's working set on one locked case."""

    session: Session
    row: Mapping[str, Any]
    actor: Actor
    now: datetime
    tz: str
    run: Run | None = None

    @property
    def conn(self) -> Connection:
        return self.session.connection()

    def new_run(self) -> Run:
        row, conn = self.row, self.conn
        calendar = work_calendar(conn, self.tz)
        from xietong.clock.due import due_at

        def due_for(now: datetime, limit_days: int | None) -> datetime | None:
            return due_at(now, limit_days, calendar) if limit_days else None

        store = EngineStore(self.session)
        view = CaseView(
            id=row["id"],
            form=dict(row["form"] or {}),
            step_results=dict(row["step_results"] or {}),
            scope_seq=row["scope_seq"],
            applicant_unit_id=row["applicant_unit_id"],
            handling_unit_id=row["handling_unit_id"],
            region_id=row["region_id"],
            process_state=row["process_state"],
        )
        self.run = Run(
            case=view,
            process=process_of(conn, row),
            now=self.now,
            assigner=DirectoryAssigner(self.session),
            loader=store,
            due_for=due_for,
        )
        return self.run

    def finish(
        self, event_type: str, *, case_values: dict[str, Any] | None = None, delta: dict[str, Any] | None = None
    ) -> None:
        """Write the run's rows, the case row, new parties, the outbox message and the event."""
        values = dict(case_values or {})
        delta = dict(delta or {})
        party_units = self.row["party_units"]
        if self.run is not None:
            run = self.run
            EngineStore(self.session).write(run)
            values.update(
                step_results=run.case.step_results, process_state=run.case.process_state, scope_seq=run.case.scope_seq
            )
            party_units = self._add_parties({t.slot.unit_id for t in run.new_tasks}, party_units)
            delta.update(run_delta(run))
            if run.new_tasks:
                self.conn.execute(
                    _INSERT_OUTBOX,
                    {
                        "topic": "task.opened",
                        "key": str(self.row["id"]),
                        "state": "pending",
                        "attempts": 0,
                        "payload": {"case_id": self.row["id"], "task_ids": [t.id for t in run.new_tasks]},
                        "created_at": self.now,
                        "available_at": self.now,
                    },
                )
        seq, digest = append_event(
            self.conn,
            case_id=self.row["id"],
            prev_seq=self.row["event_seq"],
            prev_hash=self.row["last_event_hash"],
            type=event_type,
            actor=self.actor,
            at=self.now,
            delta={**delta, "case": {**delta.get("case", {}), **_jsonable(values)}},
        )
        values.update(event_seq=seq, last_event_hash=digest, updated_at=self.now, party_units=party_units)
        self.conn.execute(update(CASE).where(CASE.c.id == self.row["id"]).values(**values))

    def _add_parties(self, unit_ids: set[int], party_units: str) -> str:
        known = {int(u) for u in party_units.strip(",").split(",") if u}
        new = sorted(unit_ids - known)
        if new:
            add_parties(self.conn, self.row["id"], new)
            party_units = "," + ",".join(str(u) for u in sorted(known | set(new))) + ","
        return party_units


def add_parties(conn: Connection, case_id: int, unit_ids: list[int]) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(PARTY).on_conflict_do_nothing(index_elements=["case_id", "unit_id"])
    conn.execute(stmt, [{"case_id": case_id, "unit_id": u} for u in unit_ids])


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    skip = {"step_results"}  # carried in the delta's own section
    return {k: v for k, v in values.items() if k not in skip}


def run_delta(run: Run) -> dict[str, Any]:
    """The engine part of an event delta, enough for the reducer to replay the run."""
    delta: dict[str, Any] = {}
    if run.new_scopes:
        delta["scopes_opened"] = [
            {
                "id": s.id,
                "kind": s.kind,
                "node": s.node_id,
                "parent": s.parent_id,
                "generation": s.generation,
                "expected": s.expected,
                "state": s.state,
                "data": s.data,
            }
            for s in run.new_scopes
        ]
    if run.changed_scopes:
        delta["scopes_changed"] = [
            {
                "id": s.id,
                "state": s.state,
                "arrived": s.arrived,
                "approved_count": s.approved_count,
                "denied_count": s.denied_count,
                "outcome": s.outcome,
            }
            for s in run.changed_scopes
        ]
    if run.new_tasks:
        delta["tasks_opened"] = [
            {"id": t.id, "node": t.node_id, "scope": t.scope_id, **t.slot.as_json(), "due_at": t.due_at}
            for t in run.new_tasks
        ]
    if run.closed_tasks:
        delta["tasks_closed"] = [{"id": t.id, "state": t.state, "outcome": t.outcome} for t in run.closed_tasks]
    delta["step_results"] = run.case.step_results
    delta["process_state"] = run.case.process_state
    return delta
