"""Engine invariants under random processes and random operations by random people (hypothesis, stateful).

Each example publishes one random ``xietong.process/1`` definition — linear chains, parallel splits and
joins, exclusive gateways on form values or on the last decision, 会签/或签/ratio steps in parallel or in
sequence, loops back, a person on leave — then applies random operations by random people through the
real service layer. A small oracle (``legal``) says whether each attempt is legal: a legal one must
succeed and append exactly one event to its case; an illegal one must raise a domain error without
sending a single write statement. After every step, for every case: one status and no reopening, an end
event exactly when it ended, no orphaned task, no idle open scope, the event log replays to the stored
state, and the hash chain verifies.

Every example runs inside a savepoint of the rolled-back ``session`` fixture and is rolled back after.
Profiles: ``properties-ci`` (derandomized) when ``CI`` is set, else ``properties-dev``; a long bug hunt
with ``XIETONG_PROPERTIES_PROFILE=properties-long``.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Connection, event, select
from sqlalchemy.orm import Session

from tests.factories import Chain, Choice, City, Loop, Parallel, ProcessBuilder, Step, make_city, publish_matter
from xietong.cases import service
from xietong.cases.enums import CaseStatus
from xietong.cases.models import CaseParty
from xietong.cases.replay import (
    CaseState,
    TaskState,
    load_events,
    reduce_events,
    state_differences,
    stored_state,
    verify_chain,
)
from xietong.directory.models import Delegation
from xietong.errors import DomainError
from xietong.security.principal import Principal

_COMMON: dict[str, Any] = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("properties-dev", max_examples=40, stateful_step_count=30, **_COMMON)
settings.register_profile(
    "properties-ci", max_examples=40, stateful_step_count=30, derandomize=True, database=None, **_COMMON
)
settings.register_profile("properties-long", max_examples=500, stateful_step_count=60, **_COMMON)  # a bug hunt
PROFILE = settings.get_profile(
    os.environ.get("XIETONG_PROPERTIES_PROFILE") or ("properties-ci" if os.environ.get("CI") else "properties-dev")
)

MAX_CASES = 2
LIVE = frozenset({CaseStatus.ACCEPTED, CaseStatus.IN_PROGRESS})
CLOSED = frozenset({CaseStatus.CONCLUDED, CaseStatus.REJECTED, CaseStatus.WITHDRAWN, CaseStatus.ARCHIVED})
END_EVENTS = frozenset({"case.concluded", "case.rejected", "case.withdrawn"})
FUNCTIONS = ("finance", "hr_social", "big_data", "staffing", "office")
POSTS = ("clerk", "section_chief", "leader_in_charge", "head")
FORM = {
    "schema": "xietong.form/1",
    "fields": [
        {"key": "title", "label": "申请事由", "type": "text", "required": True, "min_length": 2, "max_length": 200},
        {"key": "amount", "label": "金额", "type": "number", "required": True, "integer": True, "min": 0, "max": 100},
        {
            "key": "level",
            "label": "级别",
            "type": "select",
            "required": True,
            "options": [{"value": "low", "label": "一般"}, {"value": "high", "label": "重要"}],
        },
    ],
}

# -- random processes ---------------------------------------------------------------------------------


UNIT_REFS = st.one_of(
    st.tuples(st.just("function"), st.sampled_from(FUNCTIONS)),
    st.just(("handling_unit",)),
    st.just(("applicant_unit",)),
)
PEOPLE = st.lists(
    st.tuples(st.sampled_from(FUNCTIONS), st.sampled_from(POSTS), st.integers(0, 1)),
    min_size=1,
    max_size=3,
    unique=True,
)
ON_LEAVE = ("finance", "section_chief", 1)  # World.build delegates this person's tasks to a deputy
SINGLE_ASSIGN = st.one_of(
    st.tuples(st.just("post"), UNIT_REFS, st.sampled_from(POSTS)),
    st.just(("applicant_leader",)),
    st.tuples(st.just("people"), PEOPLE),
    st.just(("people", (ON_LEAVE,))),
)
MULTI_ASSIGN = st.one_of(
    st.tuples(st.just("post"), UNIT_REFS, st.sampled_from(POSTS)),  # one task per holder
    st.tuples(
        st.just("posts"),
        st.lists(st.sampled_from(FUNCTIONS), min_size=1, max_size=3, unique=True),
        st.sampled_from(POSTS),
    ),
    st.tuples(st.just("people"), PEOPLE),
)
MULTI = st.builds(
    lambda mode, order: {"mode": mode, "order": order, **({"ratio": 0.5} if mode == "ratio" else {})},
    st.sampled_from(["all", "any", "ratio"]),
    st.sampled_from(["parallel", "sequential"]),
)
STEPS = st.one_of(st.builds(Step, SINGLE_ASSIGN), st.builds(Step, MULTI_ASSIGN, MULTI))
CONDITIONS = st.sampled_from(
    ["form.amount > 50", 'form.level == "high"', "approved", "!approved", "approved && form.amount > 30"]
)
LOOP_CONDITIONS = st.sampled_from(["approved", 'approved || form.level == "high"'])


def blocks(depth: int, may_skip: bool) -> st.SearchStrategy[Any]:
    """Well-nested blocks; with ``may_skip`` false every path through the block holds a user task.

    A loop body never skips, or the loop could spin on its own without anyone acting.
    """
    if depth == 0:
        return STEPS
    strict, lax = blocks(depth - 1, False), blocks(depth - 1, True)
    first = lax if may_skip else strict
    branch = lax if may_skip else strict
    return st.one_of(
        STEPS,
        st.builds(lambda a, rest: Chain((a, *rest)), first, st.lists(lax, min_size=1, max_size=2)),
        st.builds(Parallel, st.lists(branch, min_size=2, max_size=3).map(tuple)),
        st.builds(Choice, CONDITIONS, first, st.none() | lax if may_skip else strict),
        st.builds(Loop, strict, LOOP_CONDITIONS),
    )


# may_skip: branches and whole processes that need no task (they open and close in one run) are included.
PROCESSES = blocks(2, may_skip=True)


# -- the world and the oracle -------------------------------------------------------------------------


@dataclass
class World:
    """The city every example shares (built once per test, outside hypothesis) and its people."""

    session: Session
    city: City
    people: dict[str, Principal]  # factory key -> principal
    holders: dict[tuple[int, int], list[str]]  # (unit id, post id) -> keys of the people holding that post
    stats: Counter[str] = field(default_factory=Counter)
    writes: list[str] = field(default_factory=list)  # INSERT/UPDATE/DELETE statements sent, see ``listen``

    def listen(self) -> Callable[[], None]:
        """Record every write statement sent on the session's connection; returns the way to stop."""
        conn = self.session.connection()

        def record(_conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
            if WRITE.search(statement):
                self.writes.append(statement)

        event.listen(conn, "before_cursor_execute", record)
        return lambda: event.remove(conn, "before_cursor_execute", record)

    @classmethod
    def build(cls, session: Session) -> World:
        """The city, with one person on leave whose personal tasks go to a deputy (委托)."""
        city = make_city(session)
        away, deputy = city.person(*ON_LEAVE), city.person("finance", "clerk", 1)
        long_ago, far_ahead = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
        session.add(Delegation(from_person_id=away.id, to_person_id=deputy.id, starts_at=long_ago, ends_at=far_ahead))
        session.flush()
        people = {key: city.principal(session, *key.split(".")[:2], int(key.split(".")[2])) for key in city.people}
        holders: dict[tuple[int, int], list[str]] = {}
        for key, principal in people.items():
            for post in principal.posts:
                holders.setdefault(post, []).append(key)
        return cls(session, city, people, holders)

    def members(self, function: str) -> list[str]:
        return [k for k in self.people if k.startswith(f"{function}.")]

    def task_holders(self, task: TaskState) -> list[str]:
        if task.assignee_id is not None:
            return [k for k, p in self.people.items() if p.id == task.assignee_id]
        return self.holders.get((task.unit_id, task.post_id or -1), [])


def holds(principal: Principal, task: TaskState) -> bool:
    if task.assignee_id is not None:
        return task.assignee_id == principal.id
    return task.post_id is not None and (task.unit_id, task.post_id) in principal.posts


def legal(op: str, case: CaseState | None, principal: Principal, task: TaskState | None, **params: Any) -> bool:
    """The specification of who may do what when — written apart from the services it checks."""
    if op == "submit":
        return params["unit_id"] in principal.unit_ids and len(params["form"].get("title", "").strip()) >= 2
    assert case is not None
    status, f = CaseStatus(case.status), case.fields
    handling = f["handling_unit_id"] in principal.unit_ids
    if op == "accept":
        return status == CaseStatus.SUBMITTED and handling
    if op == "reject":
        return status == CaseStatus.SUBMITTED and handling and bool(params["reason"].strip())
    if op == "withdraw":
        applicant = principal.id == f["applicant_person_id"] or f["applicant_unit_id"] in principal.unit_ids
        return status == CaseStatus.SUBMITTED and applicant
    if op == "conclude":
        return (
            status in LIVE
            and handling
            and f["process_state"] == "finished"
            and params["result"] in ("granted", "denied")
        )
    if op == "archive":
        return status in CLOSED - {CaseStatus.ARCHIVED} and handling
    assert task is not None
    open_and_held = task.state == "open" and holds(principal, task) and status in LIVE
    if op == "claim":
        return open_and_held and task.assignee_id is None
    assert op == "complete"
    return open_and_held and len(params["opinion"]) <= 2000


# A statement that changes data, wherever the DML sits (PostgreSQL writes go as ``WITH … INSERT`` CTEs in
# front of an UPDATE); a locking ``SELECT … FOR [NO KEY] UPDATE`` changes nothing.
WRITE = re.compile(r"\b(INSERT|DELETE|MERGE|TRUNCATE)\b|(?<!FOR\s)(?<!KEY\s)\bUPDATE\b", re.IGNORECASE)


# -- the machine --------------------------------------------------------------------------------------


@dataclass
class Seen:
    """What a case has shown so far, to check that it only moves forward."""

    status: CaseStatus
    process_state: str
    events: int


@dataclass(frozen=True)
class Done:
    """The legal operation just made, for the invariants to check its effect."""

    op: str
    case_id: int
    task_id: int | None
    by: int | None


class CaseMachine(RuleBasedStateMachine):
    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world
        self.session = world.session
        self.savepoint = self.session.begin_nested()
        self.local_id: int | None = None
        self.seen: dict[int, Seen] = {}
        self.states: dict[int, CaseState] = {}
        self.done: Done | None = None

    def teardown(self) -> None:
        for state in self.states.values():
            self.note(f"a case ended {state.status}, process {state.fields['process_state']}")
        self.savepoint.rollback()

    # -- helpers --------------------------------------------------------------------------------------
    def cases(self, *statuses: CaseStatus) -> list[CaseState]:
        return [s for s in self.states.values() if not statuses or CaseStatus(s.status) in statuses]

    def tasks(self, open_only: bool = True) -> list[tuple[CaseState, TaskState]]:
        return [(c, t) for c in self.states.values() for t in c.tasks.values() if t.state == "open" or not open_only]

    @staticmethod
    def usually(preferred: list[Any], anything: list[Any]) -> st.SearchStrategy[Any]:
        """Mostly one of ``preferred`` (when there is one), sometimes anything."""
        if not preferred:
            return st.sampled_from(anything)
        return st.one_of(st.sampled_from(preferred), st.sampled_from(preferred), st.sampled_from(anything))

    def person(self, data: st.DataObject, preferred: list[str]) -> Principal:
        """Usually someone who may act, sometimes anyone at all."""
        return self.world.people[data.draw(self.usually(preferred, sorted(self.world.people)), label="person")]

    def attempt(
        self,
        op: str,
        expected: bool,
        action: Callable[[], Any],
        case: CaseState | None,
        task: TaskState | None = None,
        by: Principal | None = None,
    ) -> None:
        """Run one operation: a legal one must succeed, an illegal one must raise and send no write at all."""
        writes = self.world.writes
        writes.clear()
        try:
            result = action()
        except DomainError as exc:
            assert not expected, f"{op} was legal but raised {exc.code}: {exc.detail}"
            assert not writes, f"illegal {op} ({exc.code}) wrote: {[w[:200] for w in writes]}"
            self.note(f"{op} refused: {exc.code}")
            return
        assert expected, f"{op} was illegal but succeeded"
        self.note(f"{op} done" + (" acting for someone" if task is not None and task.acting_for_id else ""))
        case_id = result[0] if case is None else case.id
        self.seen.setdefault(case_id, Seen(CaseStatus.SUBMITTED, "not_started", 0))
        self.done = Done(op, case_id, task.id if task is not None else None, by.id if by is not None else None)

    def note(self, what: str) -> None:
        self.world.stats[what] += 1

    # -- rules ----------------------------------------------------------------------------------------
    @initialize(process=PROCESSES)
    def publish(self, process: Any) -> None:
        document = ProcessBuilder(self.world.city).document(process)
        self.local_id = publish_matter(self.session, self.world.city, document, form=FORM).id

    @precondition(lambda self: len(self.seen) < MAX_CASES)
    @rule(data=st.data())
    def submit(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.world.people)), label="applicant")
        principal = self.world.people[key]
        own = self.world.city.units[key.split(".")[0]].id
        units = sorted(u.id for u in self.world.city.units.values())
        unit_id = data.draw(st.sampled_from([own] * 15 + units), label="unit")
        form = {
            "title": data.draw(st.sampled_from(["申请协同办理"] * 4 + [" "]), label="title"),
            "amount": data.draw(st.integers(0, 100), label="amount"),
            "level": data.draw(st.sampled_from(["low", "high"]), label="level"),
        }
        expected = legal("submit", None, principal, None, unit_id=unit_id, form=form)

        def act() -> tuple[int, str]:
            return service.submit_case(
                self.session,
                principal=principal,
                local_matter_id=self.local_id or 0,
                applicant_unit_id=unit_id,
                form=form,
            )

        self.attempt("submit", expected, act, None)

    @precondition(lambda self: self.cases(CaseStatus.SUBMITTED))
    @rule(data=st.data())
    def accept(self, data: st.DataObject) -> None:
        case = data.draw(st.sampled_from(self.cases(CaseStatus.SUBMITTED)), label="case")
        self.do("accept", self.person(data, self.world.members("staffing")), case)

    @precondition(lambda self: self.cases(CaseStatus.SUBMITTED))
    @rule(data=st.data(), withdraw=st.booleans(), reason=st.sampled_from(["材料不齐全", " "]))
    def refuse(self, data: st.DataObject, withdraw: bool, reason: str) -> None:
        """不予受理 by the handling unit, or 撤回 by the applicant."""
        case = data.draw(st.sampled_from(self.cases(CaseStatus.SUBMITTED)), label="case")
        if withdraw:
            applicant = [k for k, p in self.world.people.items() if case.fields["applicant_unit_id"] in p.unit_ids]
            self.do("withdraw", self.person(data, applicant), case, reason=reason)
        else:
            self.do("reject", self.person(data, self.world.members("staffing")), case, reason=reason)

    @precondition(lambda self: any(t.assignee_id is None for _, t in self.tasks()))
    @rule(data=st.data())
    def claim(self, data: st.DataObject) -> None:
        shared = [(c, t) for c, t in self.tasks() if t.assignee_id is None]
        case, task = data.draw(st.sampled_from(shared), label="task")
        self.do("claim", self.person(data, self.world.task_holders(task)), case, task)

    @precondition(lambda self: self.tasks())
    @rule(data=st.data(), decisions=st.lists(st.booleans(), min_size=1, max_size=3))
    def decide(self, data: st.DataObject, decisions: list[bool]) -> None:
        """Holders decide open tasks one after the other (the way cases move on), checked after each."""
        for approved in decisions:
            if not self.tasks():
                return
            case, task = data.draw(st.sampled_from(self.tasks()), label="task")
            holder = self.world.people[data.draw(st.sampled_from(self.world.task_holders(task)), label="holder")]
            self.do("complete", holder, case, task, approved=approved, opinion="同意")
            self.every_case_is_consistent()

    def finished(self) -> list[CaseState]:
        return [c for c in self.cases(*LIVE) if c.fields["process_state"] == "finished"]

    @precondition(lambda self: self.finished())
    @rule(data=st.data(), result=st.sampled_from(["granted", "denied"] * 3 + ["maybe"]))
    def conclude(self, data: st.DataObject, result: str) -> None:
        """办结: usually a case whose process has finished, sometimes any case."""
        case = data.draw(self.usually(self.finished(), self.cases()), label="case")
        self.do("conclude", self.person(data, self.world.members("staffing")), case, result=result)

    @precondition(lambda self: self.cases(*CLOSED - {CaseStatus.ARCHIVED}))
    @rule(data=st.data())
    def archive(self, data: st.DataObject) -> None:
        case = data.draw(self.usually(self.cases(*CLOSED - {CaseStatus.ARCHIVED}), self.cases()), label="case")
        self.do("archive", self.person(data, self.world.members("staffing")), case)

    @precondition(lambda self: self.states)
    @rule(
        data=st.data(), op=st.sampled_from(["complete", "claim", "accept", "reject", "withdraw", "conclude", "archive"])
    )
    def anyone_does_anything(self, data: st.DataObject, op: str) -> None:
        """Anyone tries anything on any case or task, open or long closed, with any opinion."""
        principal = self.person(data, [])
        if op in ("complete", "claim") and self.tasks(open_only=False):
            case, task = data.draw(st.sampled_from(self.tasks(open_only=False)), label="task")
            if op == "claim":
                self.do("claim", principal, case, task)
                return
            opinion = data.draw(st.sampled_from(["", "请补充说明", "长" * 2001]), label="opinion")
            self.do("complete", principal, case, task, approved=data.draw(st.booleans()), opinion=opinion)
            return
        if op in ("complete", "claim"):  # no task yet
            op = data.draw(st.sampled_from(["accept", "reject", "withdraw", "conclude", "archive"]), label="op")
        case = data.draw(st.sampled_from(self.cases()), label="case")
        params = {"reason": "理由", "result": "granted"} if op in ("reject", "withdraw", "conclude") else {}
        self.do(op, principal, case, **params)

    def do(self, op: str, principal: Principal, case: CaseState, task: TaskState | None = None, **params: Any) -> None:
        """Attempt ``op`` on the case (or its task); the oracle says whether it must succeed."""
        session, task_id = self.session, task.id if task is not None else 0
        actions: dict[str, Callable[[], Any]] = {
            "accept": lambda: service.accept_case(session, principal=principal, case_id=case.id),
            "reject": lambda: service.reject_case(
                session, principal=principal, case_id=case.id, reason=params["reason"]
            ),
            "withdraw": lambda: service.withdraw_case(
                session, principal=principal, case_id=case.id, reason=params["reason"]
            ),
            "conclude": lambda: service.conclude_case(
                session, principal=principal, case_id=case.id, result=params["result"]
            ),
            "archive": lambda: service.archive_case(session, principal=principal, case_id=case.id),
            "claim": lambda: service.claim_task(session, principal=principal, task_id=task_id),
            "complete": lambda: service.complete_task(session, principal=principal, task_id=task_id, **params),
        }
        self.attempt(op, legal(op, case, principal, task, **params), actions[op], case, task, principal)

    # -- invariants -----------------------------------------------------------------------------------
    @invariant()
    def every_case_is_consistent(self) -> None:
        done, self.done = self.done, None
        for case_id, seen in self.seen.items():
            stored = self.states[case_id] = stored_state(self.session, case_id)
            self.check_status(stored, seen)
            self.check_scopes_and_tasks(stored)
            events = load_events(self.session, case_id)
            touched = done is not None and done.case_id == case_id
            assert len(events) == seen.events + touched, "a legal operation appends one event to its case only"
            if touched and done is not None and done.task_id is not None:
                self.check_task_done(stored.tasks[done.task_id], done)
            assert verify_chain(events) == []
            assert state_differences(reduce_events(events), stored) == []
            ends = sum(e.type in END_EVENTS for e in events)
            assert ends == (CaseStatus(stored.status) in CLOSED), f"{ends} end events in status {stored.status}"
            parties = set(self.session.scalars(select(CaseParty.unit_id).where(CaseParty.case_id == case_id)))
            assert parties == stored.parties >= {t.unit_id for t in stored.tasks.values()}
            self.seen[case_id] = Seen(CaseStatus(stored.status), stored.fields["process_state"], len(events))

    @staticmethod
    def check_task_done(task: TaskState, done: Done) -> None:
        if done.op == "claim":
            assert (task.state, task.assignee_id) == ("open", done.by)
        else:
            assert (task.state, task.completed_by_id) == ("completed", done.by)

    def check_status(self, stored: CaseState, seen: Seen) -> None:
        status, process = CaseStatus(stored.status), stored.fields["process_state"]
        if seen.status in CLOSED:
            assert status in (seen.status, CaseStatus.ARCHIVED), f"closed case reopened: {seen.status} → {status}"
        order = ["not_started", "running", "finished"]
        assert order.index(process) >= order.index(seen.process_state), f"process went back to {process}"
        if status == CaseStatus.CONCLUDED or stored.fields["result"] is not None:
            assert process == "finished" and stored.fields["result"] in ("granted", "denied")
        if status in (CaseStatus.SUBMITTED, CaseStatus.REJECTED, CaseStatus.WITHDRAWN):
            assert process == "not_started" and not stored.scopes and not stored.tasks

    def check_scopes_and_tasks(self, stored: CaseState) -> None:
        scopes, open_tasks = stored.scopes, stored.open_tasks()
        process_scopes = [s for s in scopes.values() if s.kind == "process"]
        assert len(process_scopes) <= 1
        running = stored.fields["process_state"] == "running"
        assert [s.state == "active" for s in process_scopes] == ([running] if process_scopes else [])
        if running:
            assert CaseStatus(stored.status) in LIVE
        generations = [s.generation for s in scopes.values()]
        assert len(set(generations)) == len(generations) and max(generations, default=0) <= stored.fields["scope_seq"]
        work: Counter[int] = Counter()  # open tasks under each scope
        for task in open_tasks:  # no orphans: the scope chain of an open task is active, the case is live
            assert running, f"open task {task.node_id} in a case whose process is {stored.fields['process_state']}"
            scope_id: int | None = task.scope_id
            while scope_id is not None:
                assert scopes[scope_id].state == "active", f"open task {task.node_id} under closed scope {scope_id}"
                work[scope_id] += 1
                scope_id = scopes[scope_id].parent_id
        for scope in scopes.values():
            if scope.state != "active":
                continue
            assert work[scope.id] > 0, f"active {scope.kind} scope {scope.node_id} has no open task"
            children = [s for s in scopes.values() if s.parent_id == scope.id and s.kind == "branch"]
            if scope.kind == "parallel":
                assert sum(s.state == "active" for s in children) == scope.expected - scope.arrived
                assert sum(s.state == "completed" for s in children) == scope.arrived
            if scope.kind == "multi":
                mine = [t for t in open_tasks if t.scope_id == scope.id]
                wanted = 1 if scope.data["order"] == "sequential" else scope.expected - scope.arrived
                assert len(mine) == wanted, f"multi {scope.node_id}: {len(mine)} open signers, expected {wanted}"


def test_engine_invariants_hold_under_random_processes_and_operations(session: Session) -> None:
    world = World.build(session)
    stop = world.listen()
    try:
        run_state_machine_as_test(lambda: CaseMachine(world), settings=PROFILE)
    finally:
        stop()
    # the generator must keep reaching the interesting places, or the invariants above prove little
    assert world.stats["complete done"] and world.stats["conclude done"] and world.stats["archive done"], world.stats
    assert any(what.startswith("complete refused") for what in world.stats), world.stats


def test_the_write_detector_sees_the_writes_of_a_real_operation(session: Session) -> None:
    """The "illegal operations change nothing" check above is only as good as this detector."""
    world = World.build(session)
    process = ProcessBuilder(world.city).document(Step(("applicant_leader",)))
    local = publish_matter(session, world.city, process, form=FORM)
    stop = world.listen()
    try:
        case_id, _ = service.submit_case(
            session,
            principal=world.people["office.clerk.0"],
            local_matter_id=local.id,
            applicant_unit_id=world.city.units["office"].id,
            form={"title": "检测写入", "amount": 1, "level": "low"},
        )
        assert any("INSERT INTO event" in w for w in world.writes), world.writes
        world.writes.clear()  # a locking read is no write
        session.execute(select(CaseParty.unit_id).where(CaseParty.case_id == case_id).with_for_update()).all()
        assert world.writes == []
        service.accept_case(session, principal=world.people["staffing.clerk.0"], case_id=case_id)
        assert any("INSERT INTO event" in w for w in world.writes) and any(
            "INSERT INTO task" in w for w in world.writes
        )
    finally:
        stop()
