"""The rows of one demo case, written exactly as ``xietong.cases.service`` writes them, operation by operation.

:class:`CaseRecord` holds a case's row, scopes and tasks in memory and offers the case operations
(submit, accept, decide, conclude, reject/withdraw, archive, 补正 and its resubmission). Each one
runs the real pure engine (``start_process`` / ``complete_task``) over an in-memory
:class:`~xietong.engine.state.Run` — the record is the run's scope loader — then does what
``cases.service.common.Operation.finish`` does: ids for the new scopes and tasks, ``task_due``
timers, new parties and the next event of the case's SM3 chain
(hashed by :func:`xietong.cases.events.event_hash`, the delta built by
:func:`xietong.cases.service.common.run_delta`). Timers fire as the worker would have fired them: before
each operation (and at the reference instant) every timer due by then takes the effect its handler in
:mod:`xietong.cases.cards` would have — a yellow or red card on the case, an overdue step — with its system
event at the timer's time. Only what is still pending at the reference instant is kept as rows: timers yet
to fire; fired timers and delivered ``task.opened`` outbox messages of a history two years long would be a
worker's leftovers. Nothing here decides *what* happens — that is :mod:`xietong.demo.history`.

Two operations have no service yet: 补正 (``case.supplement_requested``, status ``supplementing``, clock
paused) and its resubmission (``case.resubmitted``, the status before the pause, ``paused_days`` and
``due_at`` moved by the working days paused); their events carry only the case columns they change,
like every case-level event. 办结 records the applicant's trips (``trips``) with its other columns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from xietong.cases.events import GENESIS, SYSTEM, Actor, event_hash, jsonable
from xietong.cases.service.common import run_delta
from xietong.clock.cards import Card, yellow_at
from xietong.clock.due import extend_due, paused_working_days
from xietong.demo.context import Context
from xietong.demo.seed import PublishedMatter
from xietong.engine.state import CaseView, Run, ScopeRow, TaskRow
from xietong.engine.transitions import complete_task, start_process

Rows = list[tuple[str, dict[str, Any]]]
Timer = tuple[datetime, str, int | None]  # fire time, kind, task id
#: Statuses whose clock runs: the card handlers act on these only.
_RUNNING = frozenset({"accepted", "in_progress"})
#: Parts of an event delta that hold JSON values only (no datetimes): ``jsonable`` returns them as they are.
_PLAIN = frozenset({"task_completed", "scopes_opened", "scopes_changed", "tasks_closed", "step_results", "materials"})


def event_delta(delta: dict[str, Any]) -> dict[str, Any]:
    """``jsonable(delta)`` without walking the parts that are plain JSON already (the form, the step results…).

    ``jsonable`` returns plain JSON unchanged, so this is the same value; the walk through every event's form
    and step results was a fifth of the demo's time. None of these parts is changed after its event is made.
    """
    out: dict[str, Any] = {}
    for key, value in delta.items():
        if key in _PLAIN or value is None or isinstance(value, str):
            out[key] = value
        elif key == "case":
            out[key] = {k: v if k in ("form", "step_results") else jsonable(v) for k, v in value.items()}
        else:
            out[key] = jsonable(value)
    return out


class CaseRecord:
    """One case's rows, built operation by operation."""

    def __init__(self, ctx: Context, case_id: int, matter: PublishedMatter) -> None:
        self.ctx, self.id, self.matter = ctx, case_id, matter
        self.row: dict[str, Any] = {}
        self.rows: Rows = []
        self.scopes: list[ScopeRow] = []
        self.scope_times: dict[int, list[datetime | None]] = {}
        self.tasks: list[TaskRow] = []
        self.claimed: dict[int, datetime] = {}
        self.last_decided: str | None = None
        self.status_before_pause = "accepted"
        self.timers: list[Timer] = []  # armed and not yet fired
        self.task_cards: dict[int, str] = {}  # overdue steps
        self.task_days: dict[int, int] = {}  # working days of the steps a person closed

    # -- the engine's scope loader -----------------------------------------------------------------
    def active_scopes(self, case_id: int) -> list[ScopeRow]:
        return [s for s in self.scopes if s.state == "active"]

    def open_tasks(self, scope_id: int) -> list[TaskRow]:
        return [t for t in self.tasks if t.scope_id == scope_id and t.state == "open"]

    def open(self) -> list[TaskRow]:
        """The case's open tasks, oldest first."""
        return [t for t in self.tasks if t.state == "open"]

    # -- operations ------------------------------------------------------------------------------
    def submit(self, at: datetime, values: dict[str, Any], materials: dict[str, list[int]]) -> None:
        """申请, as ``submit_case``: ``values`` are the case columns it inserts."""
        self.row = {
            "id": self.id,
            **values,
            **dict.fromkeys(("accepted_at", "due_at", "paused_at", "concluded_at", "archived_at")),
            **dict.fromkeys(("result", "result_note", "reason", "paused_from", "working_days_used")),
        }
        parties = sorted({values["applicant_unit_id"], values["handling_unit_id"]})
        self.rows += [("case_party", {"case_id": self.id, "unit_id": u}) for u in parties]
        delta = {k: v for k, v in values.items() if k not in ("search_text", "event_seq", "last_event_hash")}
        actor = Actor("person", values["applicant_person_id"])
        self._event("case.submitted", actor, at, {"case": delta, "materials": materials})

    def accept(self, at: datetime, by: int) -> None:
        """受理, as ``accept_case``: the due time, the card timers, the process started."""
        self.fire_until(at)
        calendar, promised = self.ctx.calendar, self.row["promised_limit_days"]
        due = self.ctx.due(at, promised, immediate=self.row["kind"] == "immediate")
        run = self._run(at)
        start_process(run)
        self._timer("case_yellow", max(at, yellow_at(due, promised, calendar)))
        self._timer("case_red", due)
        values = {"status": "accepted", "accepted_at": at, "due_at": due}
        self._finish("case.accepted", Actor("person", by), at, values, run=run)

    def decide(self, task: TaskRow, at: datetime, *, by: int, approved: bool, opinion: str) -> list[TaskRow]:
        """Decide a task, as ``complete_task`` (a shared task is claimed by deciding it); returns new tasks."""
        self.fire_until(at)
        task.state, task.outcome, task.opinion = "completed", "approve" if approved else "deny", opinion or None
        task.completed_by_id, task.completed_at = by, at
        self.claimed.setdefault(task.id or 0, at)
        days = self.task_days[task.id or 0] = self.ctx.working_days(task.created_at, at)  # as step_working_days
        run = self._run(at)
        complete_task(run, task, approved=approved)
        self.last_decided = task.node_id
        values = {"status": "in_progress"} if self.row["status"] != "in_progress" else {}
        completed = {
            "id": task.id,
            "outcome": task.outcome,
            "by": by,
            "opinion": opinion,
            "acting_for": task.slot.acting_for_id,
            "node": task.node_id,
            "working_days": days,
        }
        actor = Actor("person", by, task.slot.acting_for_id)
        self._finish("task.completed", actor, at, values, {"task_completed": completed}, run=run)
        return run.new_tasks

    def conclude(self, at: datetime, *, by: int, result: str, note: str, trips: int) -> None:
        """办结 with 准予/不予 (the trips the handler recorded go with it), the working days used as
        ``conclude_case`` counts them."""
        self.fire_until(at)
        accepted, used = self.row["accepted_at"], None
        if accepted is not None:
            used = self.ctx.working_days(accepted, at, self.row["paused_days"])
        values = {"status": "concluded", "result": result, "result_note": note, "concluded_at": at, "trips": trips,
                  "working_days_used": used}
        self._finish("case.concluded", Actor("person", by), at, values)

    def close(self, operation: str, at: datetime, *, by: int, reason: str) -> None:
        """不予受理 (``reject``) or 撤回 (``withdraw``), as ``reject_case`` / ``withdraw_case``."""
        self.fire_until(at)
        status, event = ("rejected", "case.rejected") if operation == "reject" else ("withdrawn", "case.withdrawn")
        self._finish(event, Actor("person", by), at, {"status": status, "reason": reason, "concluded_at": None})

    def archive(self, at: datetime, *, by: int) -> None:
        """归档, as ``archive_case``: open tasks are cancelled (outside the event), then the event."""
        self.fire_until(at)
        for task in self.open():
            task.state, task.completed_at = "cancelled", at
        self._finish("case.archived", Actor("person", by), at, {"status": "archived", "archived_at": at})

    def request_supplement(self, at: datetime, *, by: int, reason: str) -> None:
        """补正: the case waits for the applicant and its clock stops."""
        self.fire_until(at)
        self.status_before_pause = self.row["status"]
        values = {"status": "supplementing", "paused_at": at, "paused_from": self.row["status"], "reason": reason}
        self._finish("case.supplement_requested", Actor("person", by), at, values)

    def resubmit(self, at: datetime, *, by: int) -> None:
        """The applicant hands in the 补正: the status before the pause, the due time moved by the pause."""
        self.fire_until(at)
        calendar = self.ctx.calendar
        days = paused_working_days(self.row["paused_at"], at, calendar)
        values = {
            "status": self.status_before_pause,
            "paused_at": None,
            "paused_from": None,
            "paused_days": self.row["paused_days"] + days,
        }
        if self.row["due_at"] is not None:  # as resume_values: the card timers follow the moved due time
            due = extend_due(self.row["due_at"], days, calendar)
            values["due_at"] = due
            self.timers = [t for t in self.timers if t[1] not in ("case_yellow", "case_red")]
            self._timer("case_yellow", max(at, yellow_at(due, self.row["promised_limit_days"], calendar)))
            self._timer("case_red", due)
        self._finish("case.resubmitted", Actor("person", by), at, values)

    # -- the worker's timers ---------------------------------------------------------------------
    def fire_until(self, at: datetime) -> None:
        """Fire every timer due by ``at``, in time order, as ``xietong.cases.cards`` handles them."""
        due = sorted((t for t in self.timers if t[0] <= at), key=lambda t: t[0])
        if not due:
            return
        self.timers = [t for t in self.timers if t[0] > at]
        for fire_at, kind, task_id in due:
            if kind == "task_due":
                self._overdue_step(fire_at, task_id)
                continue
            row = self.row
            if row["status"] not in _RUNNING or row["due_at"] is None:
                continue  # a paused or closed case shows no card
            if kind == "case_yellow" and row["card"] == Card.NONE.value and fire_at >= yellow_at(
                row["due_at"], row["promised_limit_days"], self.ctx.calendar
            ):
                self._finish("case.card_yellow", SYSTEM, fire_at, {"card": Card.YELLOW.value})
            elif kind == "case_red" and row["card"] != Card.RED.value and fire_at >= row["due_at"]:
                self._finish("case.card_red", SYSTEM, fire_at, {"card": Card.RED.value})

    def _overdue_step(self, at: datetime, task_id: int | None) -> None:
        task = next((t for t in self.tasks if t.id == task_id), None)
        if task is None or task.state != "open" or task.due_at is None or at < task.due_at:
            return
        if self.task_cards.get(task.id or 0) == Card.RED.value:
            return
        self.task_cards[task.id or 0] = Card.RED.value
        self._finish("task.overdue", SYSTEM, at, {}, {"task_card": {"id": task.id, "card": Card.RED.value}})

    # -- rows --------------------------------------------------------------------------------------
    def finished_rows(self) -> Rows:
        """Every row of the case, the case row first (parents before children); timers still to fire kept."""
        self.fire_until(self.ctx.as_of)
        for fire_at, kind, task_id in self.timers:
            self.rows.append(("timer", {
                "id": self.ctx.next_id("timer"),
                "kind": kind,
                "case_id": self.id,
                "task_id": task_id,
                "fire_at": fire_at,
                "state": "pending",
                "payload": {},
                "attempts": 0,
                "done_at": None,
            }))
        self.timers = []
        scopes = [self._scope_row(s) for s in self.scopes]
        tasks = [self._task_row(t) for t in self.tasks]
        return [("case", self.row), *self.rows, *(("scope", s) for s in scopes), *(("task", t) for t in tasks)]

    def _scope_row(self, s: ScopeRow) -> dict[str, Any]:
        created, closed = self.scope_times[s.id or 0]
        return {
            "id": s.id,
            "case_id": self.id,
            "parent_id": s.parent_id,
            "kind": s.kind,
            "node_id": s.node_id,
            "generation": s.generation,
            "state": s.state,
            "expected": s.expected,
            "arrived": s.arrived,
            "approved_count": s.approved_count,
            "denied_count": s.denied_count,
            "outcome": s.outcome,
            "data": s.data,
            "created_at": created,
            "closed_at": closed,
        }

    def _task_row(self, t: TaskRow) -> dict[str, Any]:
        return {
            "id": t.id,
            "case_id": self.id,
            "scope_id": t.scope_id,
            "node_id": t.node_id,
            "name": t.name,
            "seq": t.seq,
            "unit_id": t.slot.unit_id,
            "post_id": t.slot.post_id,
            # As the store does: whoever decides a shared task becomes its holder.
            "assignee_id": t.slot.person_id if t.slot.person_id is not None else t.completed_by_id,
            "acting_for_id": t.slot.acting_for_id,
            "state": t.state,
            "created_at": t.created_at,
            "due_at": t.due_at,
            "claimed_at": self.claimed.get(t.id or 0),
            "completed_at": t.completed_at,
            "completed_by_id": t.completed_by_id,
            "outcome": t.outcome,
            "opinion": t.opinion,
            "card": self.task_cards.get(t.id or 0, Card.NONE.value),
            "delegate_id": None,
            "delegated_at": None,
            "working_days": self.task_days.get(t.id or 0),  # set when a person decided it, as complete_task does
        }

    def _run(self, at: datetime) -> Run:
        row = self.row
        view = CaseView(
            id=self.id,
            form=self.ctx.engine_form(self.matter.process, row["form"]),
            step_results=dict(row["step_results"]),
            scope_seq=row["scope_seq"],
            applicant_unit_id=row["applicant_unit_id"],
            handling_unit_id=row["handling_unit_id"],
            region_id=row["region_id"],
            process_state=row["process_state"],
        )
        return Run(
            case=view, process=self.matter.process, now=at, assigner=self.ctx.assigner, loader=self, due_for=self._due
        )

    def _due(self, now: datetime, limit_days: int | None) -> datetime | None:
        return self.ctx.due(now, limit_days) if limit_days else None

    def _finish(
        self,
        event_type: str,
        actor: Actor,
        at: datetime,
        case_values: dict[str, Any],
        delta: dict[str, Any] | None = None,
        *,
        run: Run | None = None,
    ) -> None:
        """What ``Operation.finish`` does, into rows: the run's rows, parties, the event, the case row."""
        values, delta = dict(case_values), dict(delta or {})
        party_units = self.row["party_units"]
        if run is not None:
            self._write_run(run, at)
            values.update(
                step_results=run.case.step_results, process_state=run.case.process_state, scope_seq=run.case.scope_seq
            )
            party_units = self._add_parties({t.slot.unit_id for t in run.new_tasks}, party_units)
            delta.update(run_delta(run))
            # The ``task.opened`` outbox message of a past operation was delivered long ago: not kept.
        case_delta = {**delta.get("case", {}), **{k: v for k, v in values.items() if k != "step_results"}}
        self._event(event_type, actor, at, {**delta, "case": case_delta})
        self.row.update(values)
        self.row.update(updated_at=at, party_units=party_units)

    def _write_run(self, run: Run, at: datetime) -> None:
        """Ids and times for the run's rows, as ``EngineStore.write`` gives them."""
        next_id = self.ctx.next_id
        for scope in run.new_scopes:
            scope.parent_id = scope.parent.id if scope.parent is not None else scope.parent_id
            scope.id = next_id("scope")
            self.scopes.append(scope)
            self.scope_times[scope.id] = [at, at if scope.state != "active" else None]
        for scope in run.changed_scopes:
            self.scope_times[scope.id or 0][1] = at if scope.state != "active" else None
        for task in run.new_tasks:
            task.scope_id = task.scope.id if task.scope is not None else task.scope_id
            task.id = next_id("task")
            self.tasks.append(task)
            if task.due_at is not None:
                self._timer("task_due", task.due_at, task.id)

    def _add_parties(self, unit_ids: set[int], party_units: str) -> str:
        known = {int(u) for u in party_units.strip(",").split(",") if u}
        new = sorted(unit_ids - known)
        if not new:
            return party_units
        self.rows += [("case_party", {"case_id": self.id, "unit_id": u}) for u in new]
        return "," + ",".join(str(u) for u in sorted(known | set(new))) + ","

    def _event(self, event_type: str, actor: Actor, at: datetime, delta: dict[str, Any]) -> None:
        seq, prev = self.row["event_seq"] + 1, self.row["last_event_hash"] or GENESIS
        delta = event_delta(delta)
        digest = event_hash(prev, case_id=self.id, seq=seq, type=event_type, actor=actor, at=at, delta=delta)
        event = {
            "id": self.ctx.next_id("event"),
            "case_id": self.id,
            "seq": seq,
            "type": event_type,
            "actor_kind": actor.kind,
            "actor_id": actor.id,
            "acting_for_id": actor.acting_for_id,
            "at": at,
            "delta": delta,
            "prev_hash": prev,
            "hash": digest,
            "position": None,
            "chain_hash": None,  # the sequencer links it into the global chain with its position
        }
        self.rows.append(("event", event))
        self.row.update(event_seq=seq, last_event_hash=digest)

    def _timer(self, kind: str, fire_at: datetime, task_id: int | None = None) -> None:
        """Arm a timer as the operation does; :meth:`fire_until` fires it once its time has come."""
        self.timers.append((fire_at, kind, task_id))
