"""What every case operation shares: the case row lock, the permission check, and writing a run.

Lock order (docs/concurrency.md): the case row first (``FOR UPDATE``; SQLite's BEGIN IMMEDIATE
already serialises writers), then that case's scopes and tasks, then counters. An operation on
several cases locks them in ascending id order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from xietong.cases.enums import TRANSITIONS, CaseStatus
from xietong.cases.events import Actor, event_row
from xietong.cases.models import Case, CaseGrant
from xietong.cases.service.writes import Inserts, write_closing
from xietong.catalog.models import MatterVersion, ProcessDefinition
from xietong.clock.calendar import WorkCalendar
from xietong.db import fastpath
from xietong.directory.models import Unit
from xietong.engine.assignment import DirectoryAssigner
from xietong.engine.definition import CompiledProcess, compile_process
from xietong.engine.state import CaseView, Run
from xietong.engine.store import EngineStore
from xietong.errors import Conflict, Forbidden, NotFound
from xietong.security.permissions import CaseFacts, can
from xietong.security.principal import Principal
from xietong.system.calendar import fingerprint_columns, fingerprint_of, work_calendar

CASE = Case.__table__
_compiled: dict[str, CompiledProcess] = {}

LOCK_COLUMNS = (
    CASE,
    MatterVersion.__table__.c.process_definition_id.label("pd_id"),
    ProcessDefinition.__table__.c.digest,
    Unit.__table__.c.path.label("handling_unit_path"),
    *fingerprint_columns(),  # the working calendar's freshness, read here rather than in a round trip of its own
)
# The case columns an operation on a running case reads (permission facts, the engine's view, the
# chain head): the hot path locks with these rather than the whole row.
OPERATION_COLUMNS = (
    "id",
    "status",
    "region_id",
    "handling_unit_id",
    "applicant_unit_id",
    "applicant_person_id",
    "party_units",
    "form",
    "step_results",
    "scope_seq",
    "process_state",
    "event_seq",
    "last_event_hash",
)


def locked_case_query(case_columns: tuple[str, ...] | None = None) -> Any:
    """SELECT the case with its process digest and handling unit path, locking only the case row.

    All the case's columns (and its version's process definition id), or only ``case_columns``.
    """
    columns = LOCK_COLUMNS if case_columns is None else (*(CASE.c[c] for c in case_columns), *LOCK_COLUMNS[2:])
    return (
        select(*columns)
        .select_from(CASE)
        .join(MatterVersion, MatterVersion.id == CASE.c.matter_version_id)
        .join(ProcessDefinition, ProcessDefinition.id == MatterVersion.process_definition_id)
        .join(Unit, Unit.id == CASE.c.handling_unit_id)
        .with_for_update(of=CASE)
    )


_LOCK_CASE = locked_case_query().where(CASE.c.id == bindparam("b_case_id"))
_PROCESS_BODY = select(ProcessDefinition.__table__.c.body).where(
    ProcessDefinition.__table__.c.digest == bindparam("b_digest")
)


def lock_case(session: Session, case_id: int) -> Mapping[str, Any]:
    row = fastpath.execute(session.connection(), _LOCK_CASE, {"b_case_id": case_id}).first()
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


def require(session: Session, principal: Principal, action: str, row: Mapping[str, Any], task: Any = None) -> None:
    if not can(principal, action, facts(row), task):
        refuse(session, principal, row)


def readable(session: Session, principal: Principal, row: Mapping[str, Any]) -> bool:
    """``can(principal, "read", …)`` for a locked case row, its case grants (抄送) looked up."""
    if can(principal, "read", facts(row)):
        return True
    return principal.kind == "person" and session.scalar(
        select(CaseGrant.id).where(CaseGrant.case_id == row["id"], CaseGrant.person_id == principal.id).limit(1)
    ) is not None


def refuse(
    session: Session, principal: Principal, row: Mapping[str, Any], detail: str = "您无权对该办件执行此操作"
) -> NoReturn:
    """Refuse an action on a case: 403 to whoever may read it, and to everyone else exactly what a missing case
    answers (``lock_case``), so actions cannot probe which ids exist in other units and regions."""
    if not readable(session, principal, row):
        raise NotFound(code="case_not_found", detail=f"办件不存在（编号 {row['id']}）")
    raise Forbidden(code="not_allowed", detail=detail)


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
        body = fastpath.execute(conn, _PROCESS_BODY, {"b_digest": digest}).scalar_one()
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
    _conn: Connection | None = field(default=None, init=False, repr=False)
    _store: EngineStore | None = field(default=None, init=False, repr=False)
    _calendar: WorkCalendar | None = field(default=None, init=False, repr=False)

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            self._conn = self.session.connection()
        return self._conn

    @property
    def calendar(self) -> WorkCalendar:
        """The working calendar, checked for freshness with the fingerprint the lock statement read."""
        if self._calendar is None:
            self._calendar = work_calendar(self.conn, self.tz, fingerprint_of(self.row))
        return self._calendar

    @property
    def store(self) -> EngineStore:
        if self._store is None:
            self._store = EngineStore(self.conn)
        return self._store

    def new_run(self) -> Run:
        row, conn = self.row, self.conn

        def due_for(now: datetime, limit_days: int | None) -> datetime | None:
            if not limit_days:
                return None
            from xietong.clock.due import due_at

            return due_at(now, limit_days, self.calendar)

        process = process_of(conn, row)
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
            process=process,
            now=self.now,
            assigner=DirectoryAssigner(conn, process),
            loader=self.store,
            due_for=due_for,
        )
        return self.run

    def finish(
        self,
        event_type: str,
        *,
        case_values: dict[str, Any] | None = None,
        delta: dict[str, Any] | None = None,
        inserts: Inserts = (),
    ) -> None:
        """Write the run's rows, then ``inserts``, new parties, the outbox message, the event and the case row."""
        values = dict(case_values or {})
        delta = dict(delta or {})
        closing = list(inserts)
        party_units = self.row["party_units"]
        case_id = self.row["id"]
        if self.run is not None:
            run = self.run
            closing[:0] = self.store.write_new(run)
            values.update(
                step_results=run.case.step_results, process_state=run.case.process_state, scope_seq=run.case.scope_seq
            )
            new_units, party_units = _new_parties({t.slot.unit_id for t in run.new_tasks}, party_units)
            closing.append(("party", [{"case_id": case_id, "unit_id": u} for u in new_units]))
            delta.update(run_delta(run))
            if run.new_tasks:
                closing.append(("outbox", [_task_opened(case_id, [t.id for t in run.new_tasks], self.now)]))
        event, seq, digest = event_row(
            case_id=case_id,
            prev_seq=self.row["event_seq"],
            prev_hash=self.row["last_event_hash"],
            type=event_type,
            actor=self.actor,
            at=self.now,
            delta={**delta, "case": {**delta.get("case", {}), **_jsonable(values)}},
        )
        closing.append(("event", [event]))
        values.update(event_seq=seq, last_event_hash=digest, updated_at=self.now, party_units=party_units)
        write_closing(self.conn, case_id, values, closing)


def _new_parties(unit_ids: set[int], party_units: str) -> tuple[list[int], str]:
    """Units not yet taking part, and the case's ``party_units`` with them."""
    known = {int(u) for u in party_units.strip(",").split(",") if u}
    new = sorted(unit_ids - known)
    if new:
        party_units = "," + ",".join(str(u) for u in sorted(known | set(new))) + ","
    return new, party_units


def _task_opened(case_id: int, task_ids: list[int | None], now: datetime) -> dict[str, Any]:
    return {
        "topic": "task.opened",
        "key": str(case_id),
        "state": "pending",
        "attempts": 0,
        "payload": {"case_id": case_id, "task_ids": task_ids},
        "created_at": now,
        "available_at": now,
    }


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
                # A scope can open and close in one run (an empty branch, a process that ends at once):
                # its counters and outcome must travel with its opening, or a replay cannot rebuild it.
                "arrived": s.arrived,
                "approved_count": s.approved_count,
                "denied_count": s.denied_count,
                "outcome": s.outcome,
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
