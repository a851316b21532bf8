"""Gateways: an exclusive gateway on a form field, parallel split/join, and a block nested in a branch."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tests.engine.test_nodes__multi import case_of, decide, tasks
from tests.factories import City, make_city, post_rule, publish_matter
from xietong.cases import service


def task(node_id: str, function: str, post: str = "section_chief") -> dict[str, Any]:
    return {"id": node_id, "type": "user_task", "name": node_id, "assign": post_rule(function, post)}


def flows(*pairs: tuple[str, str], **extra: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for a, b in pairs:
        fid = f"{a}__{b}"
        out.append({"id": fid, "from": a, "to": b, **extra.get(fid, {})})
    return out


def run_case(session: Session, city: City, process: dict[str, Any], form: dict[str, Any] | None = None) -> int:
    local = publish_matter(session, city, process)
    case_id, _ = service.submit_case(
        session,
        principal=city.principal(session, "office"),
        local_matter_id=local.id,
        applicant_unit_id=city.units["office"].id,
        form=form or {"title": "网关测试"},
    )
    service.accept_case(session, principal=city.principal(session, "staffing"), case_id=case_id)
    return case_id


AMOUNT_PROCESS = {
    "schema": "xietong.process/1",
    "nodes": [
        {"id": "start", "type": "start"},
        task("review", "finance"),
        {"id": "gw", "type": "exclusive"},
        task("leader", "finance", "leader_in_charge"),
        {"id": "end", "type": "end"},
    ],
    "flows": flows(
        ("start", "review"),
        ("review", "gw"),
        ("gw", "leader"),
        ("gw", "end"),
        ("leader", "end"),
        gw__leader={"condition": "form.amount > 50"},
        gw__end={"default": True},
    ),
}


def test_exclusive_gateway_sends_a_large_amount_to_the_leader(session: Session) -> None:
    city = make_city(session)
    case_id = run_case(session, city, AMOUNT_PROCESS, {"title": "大额", "amount": 80})
    decide(session, tasks(session, case_id)[0])
    [leader] = tasks(session, case_id)
    assert leader.node_id == "leader"
    decide(session, leader)
    assert case_of(session, case_id).process_state == "finished"


def test_exclusive_gateway_takes_the_default_flow_for_a_small_amount(session: Session) -> None:
    city = make_city(session)
    case_id = run_case(session, city, AMOUNT_PROCESS, {"title": "小额", "amount": 20})
    decide(session, tasks(session, case_id)[0])
    assert tasks(session, case_id) == []
    assert case_of(session, case_id).process_state == "finished"


PARALLEL_PROCESS = {
    "schema": "xietong.process/1",
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "split", "type": "parallel"},
        task("a", "finance"),
        task("b", "hr_social"),
        {"id": "join", "type": "parallel"},
        task("after", "staffing", "clerk"),
        {"id": "end", "type": "end"},
    ],
    "flows": flows(
        ("start", "split"),
        ("split", "a"),
        ("split", "b"),
        ("a", "join"),
        ("b", "join"),
        ("join", "after"),
        ("after", "end"),
    ),
}


def test_parallel_split_opens_both_branches_and_the_join_waits_for_both(session: Session) -> None:
    city = make_city(session)
    case_id = run_case(session, city, PARALLEL_PROCESS)
    a, b = tasks(session, case_id)
    assert (a.node_id, b.node_id) == ("a", "b")
    decide(session, b)
    assert [t.node_id for t in tasks(session, case_id)] == ["a"]
    decide(session, a, approved=False)
    [after] = tasks(session, case_id)
    assert after.node_id == "after"
    assert case_of(session, case_id).step_results["join"]["approved"] is False  # one branch denied


NESTED_PROCESS = {
    "schema": "xietong.process/1",
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "split", "type": "parallel"},
        task("a", "finance"),
        {"id": "inner_split", "type": "parallel"},
        task("b1", "hr_social"),
        task("b2", "big_data"),
        {"id": "inner_join", "type": "parallel"},
        {"id": "join", "type": "parallel"},
        {"id": "end", "type": "end"},
    ],
    "flows": flows(
        ("start", "split"),
        ("split", "a"),
        ("split", "inner_split"),
        ("inner_split", "b1"),
        ("inner_split", "b2"),
        ("b1", "inner_join"),
        ("b2", "inner_join"),
        ("inner_join", "join"),
        ("a", "join"),
        ("join", "end"),
    ),
}


def test_a_parallel_block_nested_in_a_branch_joins_before_the_outer_join(session: Session) -> None:
    city = make_city(session)
    case_id = run_case(session, city, NESTED_PROCESS)
    assert sorted(t.node_id for t in tasks(session, case_id)) == ["a", "b1", "b2"]
    by_node = {t.node_id: t for t in tasks(session, case_id)}
    decide(session, by_node["b1"])
    decide(session, by_node["a"])
    assert [t.node_id for t in tasks(session, case_id)] == ["b2"]
    assert case_of(session, case_id).process_state == "running"
    decide(session, by_node["b2"])
    assert tasks(session, case_id) == []
    assert case_of(session, case_id).process_state == "finished"
