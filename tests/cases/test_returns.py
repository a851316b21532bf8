"""退回 to any earlier step: inside a branch, before a split, into a branch after its join, into and out of a
countersign, and to the applicant with both ways back — each checked against the stored rows and a replay."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.test_replay import assert_replays
from tests.engine.test_nodes__multi import UNITS, case_of, decide, sign_process, start_case, tasks
from tests.factories import City, make_city, post_rule
from xietong.cases import service
from xietong.cases.models import SupplementRequest
from xietong.engine.models import Scope
from xietong.errors import Conflict, InvalidInput, NotFound
from xietong.security.principal import load_principal

HANDLING = {"rule": "post", "unit": {"ref": "handling_unit"}, "post": "clerk"}


def branched_process() -> dict[str, Any]:
    """start → accept → split → (fin1 → fin2 | hr) → join → approve → end."""
    nodes = [
        {"id": "start", "type": "start"},
        {"id": "accept", "type": "user_task", "name": "受理审查", "assign": HANDLING},
        {"id": "split", "type": "parallel"},
        {"id": "fin1", "type": "user_task", "name": "财政初审", "assign": post_rule("finance", "clerk"),
         "limit_days": 2},
        {"id": "fin2", "type": "user_task", "name": "财政复审", "assign": post_rule("finance")},
        {"id": "hr", "type": "user_task", "name": "人社审查", "assign": post_rule("hr_social"), "limit_days": 3},
        {"id": "join", "type": "parallel"},
        {"id": "approve", "type": "user_task", "name": "审批", "assign": HANDLING},
        {"id": "end", "type": "end"},
    ]
    pairs = [("start", "accept"), ("accept", "split"), ("split", "fin1"), ("fin1", "fin2"), ("fin2", "join"),
             ("split", "hr"), ("hr", "join"), ("join", "approve"), ("approve", "end")]
    flows = [{"id": f"f{i}", "from": a, "to": b} for i, (a, b) in enumerate(pairs)]
    return {"schema": "xietong.process/1", "nodes": nodes, "flows": flows}


def holder(session: Session, task: Any) -> Any:
    if task.assignee_id is not None:
        return load_principal(session, task.assignee_id)
    from xietong.directory.models import Membership

    person_id = session.scalars(
        select(Membership.person_id).where(Membership.unit_id == task.unit_id, Membership.post_id == task.post_id)
    ).first()
    return load_principal(session, person_id)


def open_nodes(session: Session, case_id: int) -> list[str]:
    return sorted(t.node_id for t in tasks(session, case_id))


def the(session: Session, case_id: int, node: str) -> Any:
    [task] = [t for t in tasks(session, case_id) if t.node_id == node]
    return task


def give_back(session: Session, case_id: int, node: str, target: str, **kw: Any) -> list[int]:
    task = the(session, case_id, node)
    return service.return_task(
        session, principal=holder(session, task), task_id=task.id, target=target, reason="材料不全，请重新审查", **kw
    )


def through_accept(session: Session, city: City) -> int:
    case_id = start_case(session, city, branched_process())
    decide(session, the(session, case_id, "accept"))
    assert open_nodes(session, case_id) == ["fin1", "hr"]
    return case_id


def test_return_inside_a_branch_leaves_the_other_branch_alone_and_the_join_still_fires(session: Session) -> None:
    city = make_city(session)
    case_id = through_accept(session, city)
    decide(session, the(session, case_id, "fin1"))
    hr = the(session, case_id, "hr")
    give_back(session, case_id, "fin2", "fin1")
    assert open_nodes(session, case_id) == ["fin1", "hr"]
    assert the(session, case_id, "hr").id == hr.id  # untouched
    decide(session, the(session, case_id, "hr"))
    decide(session, the(session, case_id, "fin1"))
    decide(session, the(session, case_id, "fin2"))
    assert open_nodes(session, case_id) == ["approve"]
    assert_replays(session, case_id)


def test_return_to_before_the_split_cancels_every_branch_and_a_new_block_starts(session: Session) -> None:
    city = make_city(session)
    case_id = through_accept(session, city)
    decide(session, the(session, case_id, "hr"))  # one branch has already arrived at the join
    fin1 = the(session, case_id, "fin1")
    preview = service.return_targets(session, principal=holder(session, fin1), task_id=fin1.id)
    assert [t["node"] for t in preview["targets"]] == ["accept", "hr"]
    assert preview["targets"][0]["cancels"] == []  # only fin1 itself is open, and it is the returning task
    give_back(session, case_id, "fin1", "accept")
    assert open_nodes(session, case_id) == ["accept"]
    assert {s.state for s in session.scalars(select(Scope).where(Scope.case_id == case_id, Scope.kind != "process"))} \
        == {"cancelled", "completed"}
    decide(session, the(session, case_id, "accept"))
    decide(session, the(session, case_id, "fin1"))
    decide(session, the(session, case_id, "fin2"))
    assert open_nodes(session, case_id) == ["hr"]  # the new block waits for hr again: the old arrival is not counted
    decide(session, the(session, case_id, "hr"))
    assert open_nodes(session, case_id) == ["approve"]
    assert_replays(session, case_id)


def test_return_from_after_the_join_into_one_branch_reruns_only_that_branch(session: Session) -> None:
    city = make_city(session)
    case_id = through_accept(session, city)
    for node in ("fin1", "fin2", "hr"):
        decide(session, the(session, case_id, node))
    give_back(session, case_id, "approve", "hr")
    assert open_nodes(session, case_id) == ["hr"]
    decide(session, the(session, case_id, "hr"))
    assert open_nodes(session, case_id) == ["approve"]  # a re-opened block expects the one branch only
    decide(session, the(session, case_id, "approve"))
    assert case_of(session, case_id).process_state == "finished"
    assert_replays(session, case_id)


def test_return_into_a_countersign_gives_every_signer_a_fresh_task(session: Session) -> None:
    city = make_city(session)
    case_id = start_case(session, city, sign_process({"rule": "posts", "units": UNITS, "post": "section_chief"},
                                                       {"mode": "all"}))
    first, second = tasks(session, case_id)
    decide(session, first)
    decide(session, second)
    give_back(session, case_id, "next", "sign")
    fresh = tasks(session, case_id)
    assert [t.node_id for t in fresh] == ["sign", "sign"] and {t.id for t in fresh}.isdisjoint({first.id, second.id})
    for task in fresh:
        decide(session, task)
    assert open_nodes(session, case_id) == ["next"]
    assert_replays(session, case_id)


def test_return_from_inside_a_countersign_cancels_the_co_signers_who_have_not_acted(session: Session) -> None:
    city = make_city(session)
    process = sign_process({"rule": "posts", "units": UNITS, "post": "section_chief"}, {"mode": "all"})
    process["nodes"].insert(1, {"id": "prep", "type": "user_task", "name": "准备", "assign": HANDLING})
    process["flows"][0] = {"id": "f1", "from": "start", "to": "prep"}
    process["flows"].append({"id": "f0", "from": "prep", "to": "sign"})
    case_id = start_case(session, city, process)
    decide(session, the(session, case_id, "prep"))
    first, second = tasks(session, case_id)
    service.return_task(session, principal=holder(session, first), task_id=first.id, target="prep", reason="重新准备")
    assert open_nodes(session, case_id) == ["prep"]
    states = {t.id: t.state for t in tasks(session, case_id, None)}
    assert states[first.id] == "returned" and states[second.id] == "cancelled"
    assert_replays(session, case_id)


@pytest.mark.parametrize(("mode", "back_at"), [("direct", ["fin2", "hr"]), ("chain", ["accept"])])
def test_return_to_the_applicant_then_resubmit_goes_back_the_chosen_way(
    session: Session, mode: str, back_at: list[str]
) -> None:
    city = make_city(session)
    case_id = through_accept(session, city)
    decide(session, the(session, case_id, "fin1"))
    due_before = case_of(session, case_id).due_at
    give_back(session, case_id, "fin2", "applicant", resume_mode=mode)
    case = case_of(session, case_id)
    assert case.status == "supplementing" and case.paused_at is not None
    assert open_nodes(session, case_id) == (["hr"] if mode == "direct" else [])  # hr waits, or starts over
    service.resubmit_case(
        session, principal=city.principal(session, "office"), case_id=case_id, form={"title": "申请增加编制（已补充）"}
    )
    case = case_of(session, case_id)
    assert case.status == "in_progress" and case.paused_at is None and case.due_at >= due_before
    assert open_nodes(session, case_id) == back_at
    request = session.scalars(select(SupplementRequest).where(SupplementRequest.case_id == case_id)).one()
    assert request.kind == "return" and request.changes["form"]["title"]["after"] == "申请增加编制（已补充）"
    assert_replays(session, case_id)


def test_return_refusals_change_nothing(session: Session) -> None:
    city = make_city(session)
    case_id = through_accept(session, city)
    fin1 = the(session, case_id, "fin1")
    outsider = city.principal(session, "big_data", "section_chief")
    with pytest.raises(NotFound):  # no part in the case: its task does not exist to the outsider
        service.return_task(session, principal=outsider, task_id=fin1.id, target="accept", reason="x")
    with pytest.raises(Conflict) as bad:
        service.return_task(session, principal=holder(session, fin1), task_id=fin1.id, target="fin2", reason="x")
    assert bad.value.code == "bad_return_target"  # fin2 was never passed
    with pytest.raises(InvalidInput):
        service.return_task(session, principal=holder(session, fin1), task_id=fin1.id, target="accept", reason=" ")
    give_back(session, case_id, "fin1", "accept")
    with pytest.raises(Conflict) as closed:
        service.return_task(session, principal=holder(session, fin1), task_id=fin1.id, target="accept", reason="再退")
    assert closed.value.code == "task_closed"
    assert open_nodes(session, case_id) == ["accept"]
    assert_replays(session, case_id)
