"""The event-log reducer and the SM3 chain check, on cases driven through the real operations."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from tests.engine.test_nodes__multi import UNITS, decide, sign_process, tasks
from tests.factories import City, joint_approval_process, make_city, post_rule, publish_matter
from xietong.cases import service
from xietong.cases.models import Event
from xietong.cases.replay import (
    ReplayError,
    load_events,
    reduce_events,
    replay_case,
    state_differences,
    stored_state,
    verify_chain,
)
from xietong.engine.models import Task


@dataclasses.dataclass
class Record:
    """An event held in memory, so a test can tamper with it without touching the database."""

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


def records(session: Session, case_id: int) -> list[Record]:
    names = [f.name for f in dataclasses.fields(Record)]
    return [Record(**{n: row._mapping[n] for n in names}) for row in load_events(session, case_id)]


def start(session: Session, city: City, process: dict[str, Any], now: datetime | None = None) -> int:
    local = publish_matter(session, city, process)
    case_id, _ = service.submit_case(
        session,
        principal=city.principal(session, "office"),
        local_matter_id=local.id,
        applicant_unit_id=city.units["office"].id,
        form={"title": "重放测试", "amount": 12},
        now=now,
    )
    service.accept_case(session, principal=city.principal(session, "staffing"), case_id=case_id, now=now)
    return case_id


def assert_replays(session: Session, case_id: int) -> None:
    replayed, stored = replay_case(session, case_id), stored_state(session, case_id)
    assert state_differences(replayed, stored) == []
    assert replayed == stored
    assert verify_chain(load_events(session, case_id)) == []


def test_a_looping_joint_approval_replays_to_the_stored_state_after_every_operation(session: Session) -> None:
    city = make_city(session)
    case_id = start(session, city, joint_approval_process())
    assert_replays(session, case_id)
    decide(session, tasks(session, case_id)[0])
    first, *others = tasks(session, case_id)
    decide(session, first, approved=False)  # one denied review sends the case back to accept
    for task in others:
        decide(session, task)
        assert_replays(session, case_id)
    [again] = tasks(session, case_id)
    assert again.node_id == "accept"
    decide(session, again)
    for task in tasks(session, case_id):
        decide(session, task)
    decide(session, tasks(session, case_id)[0])  # approve
    staffing = city.principal(session, "staffing")
    service.conclude_case(session, principal=staffing, case_id=case_id, result="granted", note="准予")
    service.archive_case(session, principal=staffing, case_id=case_id)
    state = replay_case(session, case_id)
    assert_replays(session, case_id)
    assert state.status == "archived" and state.fields["result"] == "granted"
    assert state.fields["process_state"] == "finished" and state.open_tasks() == []
    assert sorted(s.generation for s in state.scopes.values() if s.kind == "parallel") == [2, 6]
    assert {s.state for s in state.scopes.values()} == {"completed"}
    assert state.fields["step_results"]["join"]["approved"] is True
    assert state.parties >= {city.units[f].id for f in ("office", "staffing", "finance", "hr_social", "big_data")}


def test_claims_cancelled_signers_and_opinions_replay(session: Session) -> None:
    city = make_city(session)
    process = sign_process({"rule": "posts", "units": UNITS, "post": "section_chief"}, {"mode": "any"})
    case_id = start(session, city, process)
    first, second = tasks(session, case_id)
    holder = city.principal(session, "finance", "section_chief", 1)
    service.claim_task(session, principal=holder, task_id=first.id)
    assert_replays(session, case_id)
    service.complete_task(session, principal=holder, task_id=first.id, approved=True, opinion="同意办理")
    state = replay_case(session, case_id)
    assert_replays(session, case_id)
    done, cancelled = state.tasks[first.id], state.tasks[second.id]
    assert (done.state, done.assignee_id, done.completed_by_id, done.opinion) == (
        "completed",
        holder.id,
        holder.id,
        "同意办理",
    )
    assert cancelled.state == "cancelled" and cancelled.completed_at == done.completed_at


def test_sequential_countersign_replays(session: Session) -> None:
    city = make_city(session)
    clerks = {"rule": "post", "unit": {"ref": "function", "function": "finance"}, "post": "clerk"}
    case_id = start(session, city, sign_process(clerks, {"mode": "all", "order": "sequential"}))
    decide(session, tasks(session, case_id)[0], approved=False)
    decide(session, tasks(session, case_id)[0])
    state = replay_case(session, case_id)
    assert_replays(session, case_id)
    [multi] = [s for s in state.scopes.values() if s.kind == "multi"]
    assert (multi.state, multi.arrived, multi.denied_count, multi.outcome) == ("completed", 2, 1, "deny")


@pytest.mark.parametrize("operation", ["reject", "withdraw"])
def test_a_case_closed_before_acceptance_replays(session: Session, operation: str) -> None:
    city = make_city(session)
    local = publish_matter(session, city, joint_approval_process())
    office = city.principal(session, "office")
    case_id, _ = service.submit_case(
        session,
        principal=office,
        local_matter_id=local.id,
        applicant_unit_id=city.units["office"].id,
        form={"title": "撤回"},
    )
    if operation == "reject":
        service.reject_case(session, principal=city.principal(session, "staffing"), case_id=case_id, reason="材料不全")
    else:
        service.withdraw_case(session, principal=office, case_id=case_id, reason="不再需要")
    state = replay_case(session, case_id)
    assert_replays(session, case_id)
    assert state.status == {"reject": "rejected", "withdraw": "withdrawn"}[operation]
    assert state.scopes == {} and state.tasks == {}


def test_the_reducer_is_pure_and_needs_only_the_events(session: Session) -> None:
    city = make_city(session)
    case_id = start(session, city, joint_approval_process())
    events = records(session, case_id)
    stored = stored_state(session, case_id)
    session.execute(delete(Task).where(Task.case_id == case_id))  # the tables no longer matter
    assert reduce_events(events) == stored


@pytest.fixture
def chain(session: Session) -> tuple[int, list[Record]]:
    city = make_city(session)
    case_id = start(session, city, joint_approval_process())
    decide(session, tasks(session, case_id)[0])
    decide(session, tasks(session, case_id)[0], approved=False)
    events = records(session, case_id)
    assert len(events) == 4 and verify_chain(events) == []
    return case_id, events


def codes(problems: list[Any]) -> list[tuple[int, str]]:
    return [(p.seq, p.code) for p in problems]


def test_a_tampered_delta_is_detected(chain: tuple[int, list[Record]]) -> None:
    _, events = chain
    events[2].delta["task_completed"]["outcome"] = "deny"
    assert codes(verify_chain(events)) == [(3, "hash_mismatch")]


def test_a_tampered_actor_or_time_is_detected(chain: tuple[int, list[Record]]) -> None:
    _, events = chain
    events[1].actor_id = (events[1].actor_id or 0) + 1
    events[3].at = events[3].at.replace(microsecond=(events[3].at.microsecond + 1) % 1_000_000)
    assert codes(verify_chain(events)) == [(2, "hash_mismatch"), (4, "hash_mismatch")]


def test_a_removed_or_reordered_event_is_detected(chain: tuple[int, list[Record]]) -> None:
    _, events = chain
    assert codes(verify_chain([events[0], events[2], events[3]])) == [(3, "seq_gap"), (3, "prev_mismatch")]
    swapped = [events[0], events[2], events[1], events[3]]
    assert {code for _, code in codes(verify_chain(swapped))} == {"seq_gap", "prev_mismatch"}
    with pytest.raises(ReplayError) as err:
        reduce_events(swapped)
    assert err.value.code == "event_out_of_order"


def test_tampering_in_the_database_is_detected_and_a_rehashed_chain_still_disagrees_with_the_case_head(
    session: Session, chain: tuple[int, list[Record]]
) -> None:
    case_id, events = chain
    forged = {**events[3].delta, "task_completed": {**events[3].delta["task_completed"], "outcome": "approve"}}
    session.execute(update(Event).where(Event.case_id == case_id, Event.seq == 4).values(delta=forged))
    assert codes(verify_chain(load_events(session, case_id))) == [(4, "hash_mismatch")]
    # A forger who also recomputes the hash leaves a valid chain whose head is not the case row's head.
    from xietong.cases.events import Actor, event_hash

    record = events[3]
    digest = event_hash(
        record.prev_hash,
        case_id=case_id,
        seq=4,
        type=record.type,
        actor=Actor(record.actor_kind, record.actor_id, record.acting_for_id),
        at=record.at,
        delta=forged,
    )
    session.execute(update(Event).where(Event.case_id == case_id, Event.seq == 4).values(hash=digest))
    assert verify_chain(load_events(session, case_id)) == []
    differences = state_differences(replay_case(session, case_id), stored_state(session, case_id))
    assert any(d.startswith("case.last_event_hash") for d in differences)
    assert any(".outcome: 'approve' != 'deny'" in d for d in differences)


def test_rows_changed_behind_the_events_back_show_up_as_differences(session: Session) -> None:
    city = make_city(session)
    case_id = start(session, city, joint_approval_process())
    [task] = tasks(session, case_id)
    session.execute(update(Task).where(Task.id == task.id).values(state="cancelled"))
    assert state_differences(replay_case(session, case_id), stored_state(session, case_id)) == [
        f"task[{task.id}].state: 'open' != 'cancelled'"
    ]


def test_the_reducer_refuses_logs_it_cannot_fold(chain: tuple[int, list[Record]]) -> None:
    _, events = chain
    with pytest.raises(ReplayError) as err:
        reduce_events([])
    assert err.value.code == "no_events"
    with pytest.raises(ReplayError) as err:
        reduce_events(events[1:])
    assert err.value.code == "no_submission"
    events[2].delta["tasks_reassigned"] = []
    with pytest.raises(ReplayError) as err:
        reduce_events(events)
    assert err.value.code == "unknown_delta"
    del events[2].delta["tasks_reassigned"]
    events[2].delta["case"]["colour"] = "red"
    with pytest.raises(ReplayError) as err:
        reduce_events(events)
    assert err.value.code == "unknown_case_field"


EMPTY_BRANCH = {
    "schema": "xietong.process/1",
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "split", "type": "parallel"},
        {"id": "a", "type": "user_task", "name": "a", "assign": post_rule("finance")},
        {"id": "join", "type": "parallel"},
        {"id": "end", "type": "end"},
    ],
    "flows": [
        {"id": "f1", "from": "start", "to": "split"},
        {"id": "f2", "from": "split", "to": "a"},
        {"id": "f3", "from": "split", "to": "join"},
        {"id": "f4", "from": "a", "to": "join"},
        {"id": "f5", "from": "join", "to": "end"},
    ],
}


def test_an_empty_branch_that_arrives_in_the_run_that_opened_it_replays(session: Session) -> None:
    city = make_city(session)
    case_id = start(session, city, EMPTY_BRANCH)
    assert_replays(session, case_id)


ENDS_WHEN_SMALL = {
    "schema": "xietong.process/1",
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "gw", "type": "exclusive"},
        {"id": "a", "type": "user_task", "name": "a", "assign": post_rule("finance")},
        {"id": "end", "type": "end"},
    ],
    "flows": [
        {"id": "f1", "from": "start", "to": "gw"},
        {"id": "f2", "from": "gw", "to": "a", "condition": "form.amount > 50"},
        {"id": "f3", "from": "gw", "to": "end", "default": True},
        {"id": "f4", "from": "a", "to": "end"},
    ],
}


def test_a_process_that_ends_at_acceptance_replays(session: Session) -> None:
    city = make_city(session)
    case_id = start(session, city, ENDS_WHEN_SMALL)  # amount 12: the default flow goes straight to the end
    assert replay_case(session, case_id).fields["process_state"] == "finished"
    assert_replays(session, case_id)


def test_a_chain_written_with_a_non_utc_clock_verifies(session: Session) -> None:
    city = make_city(session)
    case_id = start(
        session, city, joint_approval_process(), now=datetime(2025, 3, 3, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
    )
    assert verify_chain(load_events(session, case_id)) == []
