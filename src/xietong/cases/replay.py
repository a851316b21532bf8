"""Replay of a case's event log: a pure reducer from events to state, the SM3 chain check, and the stored twin.

Events are deltas (``cases/service/common.py: run_delta``); folding them in ``seq`` order must give the
state the tables hold. ``replay_case`` and ``stored_state`` build the same ``CaseState`` from the event
log and from the tables, so tests (and an audit command) compare them with ``==`` or
``state_differences``; ``verify_chain`` recomputes the hash chain with the function that wrote it.

What the events do not carry today is left out of the comparison: the case's ``search_text``
(denormalised from catalog and directory names) and a task's ``name`` and ``seq``. ``party_units`` is
derived from the units of opened tasks, as the service derives it; the archive event's cancellation of
open tasks is implied by its type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.cases.events import GENESIS, Actor, event_hash
from xietong.cases.models import Case, Event
from xietong.engine.models import Scope, Task
from xietong.errors import DomainError, NotFound

CASE = Case.__table__
EVENT = Event.__table__
SCOPE = Scope.__table__
TASK = Task.__table__

#: Case columns an event log rebuilds: every column but the id, the search text (not in events) and
#: ``party_units`` (kept apart as a set in ``CaseState.parties``).
CASE_FIELDS: tuple[str, ...] = tuple(c.name for c in CASE.columns if c.name not in ("id", "search_text", "party_units"))
_KNOWN_SECTIONS = frozenset(
    {
        "case",
        "materials",
        "scopes_opened",
        "scopes_changed",
        "tasks_opened",
        "tasks_closed",
        "task_completed",
        "task_claimed",
        "task_released",
        "task_delegated",
        "task_handed_back",
        "task_card",
        "step_results",
        "process_state",
        # handling operations (issue 4): ``task_ended`` and ``signers`` change rows; the rest is the record
        "task_ended",
        "signers",
        "returned",
        "supplement",
        "changes",
        "resumed",
        "transferred",
        "task_dues",
        "task_withdrawn",
        "special_procedure",  # 特别程序 and 延期 (issue 12): their rows and reasons are the record; the case
        "extension",  # columns they change come in the "case" section
        "migration",  # 版本迁移: from and to which version; the version itself comes in the "case" section
        "oversight",  # 催办, 督办, 抄送, 评价: their rows live in xietong.oversight's tables, outside CaseState
        "seal",  # 办结文书盖章 (issue 10): the sealed result lives in integrations.seal's table, outside CaseState
        "archive",  # 移交电子档案 (issue 10): the package and its receipt live in integrations.archive's table
        "reorganisation",  # 机构改革 (issue 12): the lineage is the directory's; the case columns and parties it
        # changes come in the "case" section, the moved steps as their own task.reorganised events
        "shared_materials",  # 减材料: which shared version or earlier result each linked attachment row copies
    }
)


class ReplayError(DomainError):
    """An event log that cannot be folded: out of order, or carrying something the reducer does not know."""

    kind = "conflict"
    default_title = "事件日志无法重放"


class EventLike(Protocol):
    """What the reducer and the chain check read of an event (an ORM ``Event`` or a Core row)."""

    case_id: int
    seq: int
    type: str
    actor_kind: str
    actor_id: int | None
    acting_for_id: int | None
    at: datetime
    delta: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass
class ScopeState:
    """One activation of a process, parallel block, branch or multi-instance step (a ``scope`` row)."""

    id: int
    kind: str
    node_id: str
    parent_id: int | None
    generation: int
    state: str
    expected: int
    arrived: int
    approved_count: int
    denied_count: int
    outcome: str | None
    data: dict[str, Any]
    created_at: datetime
    closed_at: datetime | None


@dataclass
class TaskState:
    """One task (a ``task`` row) without its ``name`` and ``seq``, which events do not carry."""

    id: int
    scope_id: int
    node_id: str
    unit_id: int
    post_id: int | None
    assignee_id: int | None
    acting_for_id: int | None
    state: str
    created_at: datetime
    due_at: datetime | None
    claimed_at: datetime | None
    completed_at: datetime | None
    completed_by_id: int | None
    outcome: str | None
    opinion: str | None
    card: str = "none"  # none | red: set by the worker's ``task.overdue``
    working_days: int | None = None  # set when a person closes the task (decided, returned, transferred)
    delegate_id: int | None = None  # 委派: the colleague working on it until they hand it back


@dataclass
class CaseState:
    """A case as its events describe it: key fields, the units taking part, scopes and tasks by id."""

    id: int
    fields: dict[str, Any]
    parties: frozenset[int]
    scopes: dict[int, ScopeState] = field(default_factory=dict)
    tasks: dict[int, TaskState] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return str(self.fields["status"])

    def open_tasks(self) -> list[TaskState]:
        return [t for t in self.tasks.values() if t.state == "open"]


@dataclass(frozen=True)
class ChainProblem:
    """One break in a case's hash chain, at the event with sequence number ``seq``."""

    seq: int
    code: str  # seq_gap | prev_mismatch | hash_mismatch | case_mismatch
    message: str


# -- the chain ----------------------------------------------------------------------------------------


def verify_chain(events: Sequence[EventLike]) -> list[ChainProblem]:
    """Recompute the SM3 chain of one case's events (in ``seq`` order); an empty list means it holds."""
    problems: list[ChainProblem] = []
    prev = GENESIS
    case_id = events[0].case_id if events else None
    prev_seq = 0
    for event in events:
        if event.case_id != case_id:
            problems.append(ChainProblem(event.seq, "case_mismatch", f"事件 {event.seq} 属于另一个办件"))
        if event.seq != prev_seq + 1:
            problems.append(ChainProblem(event.seq, "seq_gap", f"第 {prev_seq} 个事件之后是第 {event.seq} 个"))
        if event.prev_hash != prev:
            problems.append(ChainProblem(event.seq, "prev_mismatch", f"事件 {event.seq} 的前序哈希与上一事件不符"))
        digest = event_hash(
            event.prev_hash,
            case_id=event.case_id,
            seq=event.seq,
            type=event.type,
            actor=Actor(event.actor_kind, event.actor_id, event.acting_for_id),
            at=event.at,
            delta=event.delta,
        )
        if digest != event.hash:
            problems.append(ChainProblem(event.seq, "hash_mismatch", f"事件 {event.seq} 的内容与其哈希不符"))
        prev, prev_seq = event.hash, event.seq
    return problems


# -- the reducer --------------------------------------------------------------------------------------


def reduce_events(events: Iterable[EventLike]) -> CaseState:
    """Fold one case's events, in ``seq`` order, into the state they describe. Touches no database."""
    state: CaseState | None = None
    for event in events:
        if state is None:
            state = _initial(event)
        elif event.seq != state.fields["event_seq"] + 1 or event.case_id != state.id:
            raise ReplayError(
                code="event_out_of_order",
                detail=f"事件顺序错误：第 {state.fields['event_seq']} 个之后是第 {event.seq} 个",
            )
        _apply(state, event)
    if state is None:
        raise ReplayError(code="no_events", detail="该办件没有事件，无法重放")
    return state


def _initial(event: EventLike) -> CaseState:
    if event.seq != 1 or event.type != "case.submitted":
        raise ReplayError(code="no_submission", detail=f"事件日志应从申请开始，实为 {event.type}（第 {event.seq} 个）")
    values: dict[str, Any] = dict.fromkeys(CASE_FIELDS)
    values["card"] = "none"  # column defaults no operation but a card event or 延期 writes
    values["extended_days"] = 0
    return CaseState(id=event.case_id, fields=values, parties=frozenset())


def _apply(state: CaseState, event: EventLike) -> None:
    delta = event.delta
    unknown = set(delta) - _KNOWN_SECTIONS
    if unknown:
        raise ReplayError(
            code="unknown_delta", detail=f"事件 {event.seq}（{event.type}）含有无法重放的内容：{sorted(unknown)}"
        )
    at = _utc(event.at)
    for scope in delta.get("scopes_opened", ()):
        _open_scope(state, scope, at)
    for change in delta.get("scopes_changed", ()):
        _change_scope(state, event, change, at)
    if "task_completed" in delta:
        _complete_task(state, event, delta["task_completed"], at)
    if "task_ended" in delta:  # returned or transferred: closed by a person without a decision
        ended = delta["task_ended"]
        task = _task(state, event, ended["id"])
        task.state, task.outcome, task.opinion = ended["state"], ended["outcome"], ended["opinion"]
        task.completed_by_id, task.completed_at = ended["by"], at
        task.working_days = ended.get("working_days")
    if "task_withdrawn" in delta:  # 撤回: the decision no longer stands; its task opened again (tasks_opened)
        _task(state, event, delta["task_withdrawn"]["id"]).state = "withdrawn"
    for moved in delta.get("task_dues", ()):  # a pause ended: the open steps' due times moved with the case's
        task = _task(state, event, moved["id"])
        task.due_at = _parse_time(moved["due_at"])
        task.card = moved.get("card", task.card)  # no longer overdue at the moved due time
    if "signers" in delta:  # 加签/减签 rewrote a countersign's signer list and expected count
        resized = delta["signers"]
        scope = state.scopes[resized["scope"]]
        scope.expected, scope.data = resized["expected"], resized["data"]
    for closed in delta.get("tasks_closed", ()):
        task = _task(state, event, closed["id"])
        task.state, task.completed_at = closed["state"], at
        if closed.get("outcome") is not None:
            task.outcome = closed["outcome"]
    for opened in delta.get("tasks_opened", ()):
        _open_task(state, opened, at)
    if "task_claimed" in delta:
        task = _task(state, event, delta["task_claimed"]["id"])
        task.assignee_id, task.claimed_at = delta["task_claimed"]["by"], at
    if "task_delegated" in delta:  # 委派: lent to a colleague until handed back
        _task(state, event, delta["task_delegated"]["id"]).delegate_id = delta["task_delegated"]["to"]
    if "task_handed_back" in delta:
        _task(state, event, delta["task_handed_back"]["id"]).delegate_id = None
    if "task_released" in delta:  # 退回签收: shared by the post again
        task = _task(state, event, delta["task_released"]["id"])
        task.assignee_id, task.claimed_at = None, None
    if "task_card" in delta:
        _task(state, event, delta["task_card"]["id"]).card = delta["task_card"]["card"]
    if event.type == "case.archived":  # the archive UPDATE cancels whatever is still open (no completed_at)
        for task in state.open_tasks():
            task.state = "cancelled"
    _apply_case(state, event, delta, at)


def _apply_case(state: CaseState, event: EventLike, delta: Mapping[str, Any], at: datetime) -> None:
    values = delta.get("case", {})
    unknown = set(values) - set(CASE_FIELDS) - {"party_units"}
    if unknown:
        raise ReplayError(code="unknown_case_field", detail=f"事件 {event.seq} 含有未知的办件字段：{sorted(unknown)}")
    for key, value in values.items():
        if key == "party_units":
            state.parties = _units(value)
        else:
            state.fields[key] = _parse_time(value) if key.endswith("_at") else value
    if "step_results" in delta:
        state.fields["step_results"] = delta["step_results"]
    if "process_state" in delta:
        state.fields["process_state"] = delta["process_state"]
    state.parties = state.parties | {t["unit_id"] for t in delta.get("tasks_opened", ())}
    state.fields.update(event_seq=event.seq, last_event_hash=event.hash, updated_at=at)


def _open_scope(state: CaseState, s: Mapping[str, Any], at: datetime) -> None:
    closed = s["state"] != "active"
    state.scopes[s["id"]] = ScopeState(
        id=s["id"],
        kind=s["kind"],
        node_id=s["node"],
        parent_id=s["parent"],
        generation=s["generation"],
        state=s["state"],
        expected=s["expected"],
        arrived=s.get("arrived", 0),
        approved_count=s.get("approved_count", 0),
        denied_count=s.get("denied_count", 0),
        outcome=s.get("outcome"),
        data=s["data"],
        created_at=at,
        closed_at=at if closed else None,
    )


def _change_scope(state: CaseState, event: EventLike, c: Mapping[str, Any], at: datetime) -> None:
    scope = state.scopes.get(c["id"])
    if scope is None:
        raise ReplayError(code="unknown_scope", detail=f"事件 {event.seq} 修改了不存在的执行范围 {c['id']}")
    scope.state, scope.arrived, scope.outcome = c["state"], c["arrived"], c["outcome"]
    scope.approved_count, scope.denied_count = c["approved_count"], c["denied_count"]
    scope.closed_at = at if c["state"] != "active" else None


def _open_task(state: CaseState, t: Mapping[str, Any], at: datetime) -> None:
    state.tasks[t["id"]] = TaskState(
        id=t["id"],
        scope_id=t["scope"],
        node_id=t["node"],
        unit_id=t["unit_id"],
        post_id=t["post_id"],
        assignee_id=t["person_id"],
        acting_for_id=t["acting_for_id"],
        state="open",
        created_at=at,
        due_at=_parse_time(t.get("due_at")),
        claimed_at=None,
        completed_at=None,
        completed_by_id=None,
        outcome=None,
        opinion=None,
    )


def _complete_task(state: CaseState, event: EventLike, done: Mapping[str, Any], at: datetime) -> None:
    task = _task(state, event, done["id"])
    task.state, task.outcome, task.opinion = "completed", done["outcome"], done.get("opinion") or None
    task.completed_by_id, task.completed_at = done["by"], at
    task.working_days = done.get("working_days")
    task.claimed_at = task.claimed_at or at  # deciding claims a shared task; an earlier 签收 time stays
    if task.assignee_id is None:
        task.assignee_id = done["by"]


def _task(state: CaseState, event: EventLike, task_id: int) -> TaskState:
    task = state.tasks.get(task_id)
    if task is None:
        raise ReplayError(code="unknown_task", detail=f"事件 {event.seq}（{event.type}）引用了不存在的待办 {task_id}")
    return task


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _parse_time(value: Any) -> Any:
    if isinstance(value, str):
        return _utc(datetime.fromisoformat(value))
    return value


def _units(party_units: str) -> frozenset[int]:
    return frozenset(int(u) for u in party_units.strip(",").split(",") if u)


# -- from the database --------------------------------------------------------------------------------


def load_events(session: Session, case_id: int) -> list[Any]:
    """The case's events in ``seq`` order, as Core rows (``EventLike``)."""
    return list(session.execute(select(EVENT).where(EVENT.c.case_id == case_id).order_by(EVENT.c.seq)))


def replay_case(session: Session, case_id: int) -> CaseState:
    """Rebuild the case's state from its event log alone."""
    return reduce_events(load_events(session, case_id))


def stored_state(session: Session, case_id: int) -> CaseState:
    """The same structure as ``replay_case``, read from the case, scope and task tables."""
    row = session.execute(select(CASE).where(CASE.c.id == case_id)).mappings().first()
    if row is None:
        raise NotFound(code="case_not_found", detail=f"办件不存在（编号 {case_id}）")
    scopes = session.execute(select(SCOPE).where(SCOPE.c.case_id == case_id).order_by(SCOPE.c.id)).mappings()
    tasks = session.execute(select(TASK).where(TASK.c.case_id == case_id).order_by(TASK.c.id)).mappings()
    return CaseState(
        id=case_id,
        fields={name: row[name] for name in CASE_FIELDS},
        parties=_units(row["party_units"]),
        scopes={s["id"]: _from_row(ScopeState, s) for s in scopes},
        tasks={t["id"]: _from_row(TaskState, t) for t in tasks},
    )


def _from_row(cls: Any, row: Any) -> Any:
    return cls(**{f.name: row[f.name] for f in fields(cls)})


def state_differences(expected: CaseState, actual: CaseState) -> list[str]:
    """Human-readable differences (``path: expected != actual``); empty when the states are equal."""
    out: list[str] = []
    for key in sorted(set(expected.fields) | set(actual.fields)):
        a, b = expected.fields.get(key), actual.fields.get(key)
        if a != b:
            out.append(f"case.{key}: {a!r} != {b!r}")
    if expected.parties != actual.parties:
        out.append(f"case.parties: {sorted(expected.parties)} != {sorted(actual.parties)}")
    out += _row_differences("scope", expected.scopes, actual.scopes)
    out += _row_differences("task", expected.tasks, actual.tasks)
    return out


def _row_differences(kind: str, left: Mapping[int, Any], right: Mapping[int, Any]) -> list[str]:
    out: list[str] = []
    for key in sorted(set(left) | set(right)):
        x, y = left.get(key), right.get(key)
        if x is None or y is None:
            out.append(f"{kind}[{key}]: {_presence(x)} != {_presence(y)}")
            continue
        for f in fields(x):
            if getattr(x, f.name) != getattr(y, f.name):
                out.append(f"{kind}[{key}].{f.name}: {getattr(x, f.name)!r} != {getattr(y, f.name)!r}")
    return out


def _presence(row: object) -> str:
    return "missing" if row is None else "present"
