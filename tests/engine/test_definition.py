"""compile_process names every problem of a process definition with a stable code."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.factories import joint_approval_process, linear_process, post_rule
from xietong.engine.definition import compile_process
from xietong.engine.errors import ProcessDefinitionError
from xietong.errors import FieldProblem


def problems(body: dict[str, Any]) -> list[FieldProblem]:
    with pytest.raises(ProcessDefinitionError) as info:
        compile_process(body)
    assert info.value.errors
    return info.value.errors


def codes(body: dict[str, Any]) -> set[str]:
    return {p.code for p in problems(body)}


def base() -> dict[str, Any]:
    return copy.deepcopy(linear_process(("a", post_rule("finance")), ("b", post_rule("hr_social"))))


def test_the_reference_process_compiles_with_paired_blocks() -> None:
    compiled = compile_process(joint_approval_process())
    assert compiled.start == "start"
    assert compiled.node("split").join == "join" and compiled.node("join").split == "split"
    assert compiled.node("review_finance").path == (("split", 0),)
    assert compiled.node("accept").path == ()


def test_no_start_node() -> None:
    body = base()
    body["nodes"][0]["type"] = "user_task"
    body["nodes"][0]["assign"] = post_rule("finance")
    assert "start_count" in codes(body)


def test_two_start_nodes() -> None:
    body = base()
    body["nodes"].append({"id": "start2", "type": "start"})
    body["flows"].append({"id": "f_s2", "from": "start2", "to": "a"})
    assert "start_count" in codes(body)


def test_dangling_flow_names_the_missing_node() -> None:
    body = base()
    body["flows"].append({"id": "f_bad", "from": "a", "to": "nowhere"})
    found = problems(body)
    assert any(p.code == "unknown_node" and p.field.endswith(".to") and "nowhere" in p.message for p in found)


def test_unreachable_node() -> None:
    body = base()
    body["nodes"].append({"id": "island", "type": "user_task", "assign": post_rule("finance")})
    body["flows"].append({"id": "f_island", "from": "island", "to": "end"})
    found = problems(body)
    assert [p.field for p in found if p.code == "unreachable"] == ["nodes.island"]


def test_no_path_to_end() -> None:
    body = base()
    body["nodes"].append({"id": "loop", "type": "user_task", "assign": post_rule("finance")})
    body["nodes"].append({"id": "gw", "type": "exclusive"})
    body["flows"] = [
        {"id": "f0", "from": "start", "to": "a"},
        {"id": "f1", "from": "a", "to": "gw"},
        {"id": "f2", "from": "gw", "to": "b", "condition": "approved"},
        {"id": "f3", "from": "gw", "to": "loop", "default": True},
        {"id": "f4", "from": "loop", "to": "loop2"},
        {"id": "f5", "from": "b", "to": "end"},
    ]
    body["nodes"].append({"id": "loop2", "type": "user_task", "assign": post_rule("finance")})
    body["flows"].append({"id": "f6", "from": "loop2", "to": "loop"})
    assert {p.field for p in problems(body) if p.code == "no_end"} == {"nodes.loop", "nodes.loop2"}


def test_exclusive_gateway_without_default() -> None:
    body = base()
    body["nodes"].insert(2, {"id": "gw", "type": "exclusive"})
    body["flows"] = [
        {"id": "f0", "from": "start", "to": "a"},
        {"id": "f1", "from": "a", "to": "gw"},
        {"id": "f2", "from": "gw", "to": "b", "condition": "approved"},
        {"id": "f3", "from": "gw", "to": "end", "condition": "!approved"},
        {"id": "f4", "from": "b", "to": "end"},
    ]
    assert "gateway_default" in codes(body)


def test_exclusive_flow_without_condition_or_default() -> None:
    body = base()
    body["nodes"].insert(2, {"id": "gw", "type": "exclusive"})
    body["flows"] = [
        {"id": "f0", "from": "start", "to": "a"},
        {"id": "f1", "from": "a", "to": "gw"},
        {"id": "f2", "from": "gw", "to": "b"},
        {"id": "f3", "from": "gw", "to": "end", "default": True},
        {"id": "f4", "from": "b", "to": "end"},
    ]
    assert [p.field for p in problems(body) if p.code == "condition_missing"] == ["flows.f2"]


def test_condition_with_a_syntax_error() -> None:
    body = base()
    body["nodes"].insert(2, {"id": "gw", "type": "exclusive"})
    body["flows"] = [
        {"id": "f0", "from": "start", "to": "a"},
        {"id": "f1", "from": "a", "to": "gw"},
        {"id": "f2", "from": "gw", "to": "b", "condition": "form.amount >"},
        {"id": "f3", "from": "gw", "to": "end", "default": True},
        {"id": "f4", "from": "b", "to": "end"},
    ]
    assert [p.field for p in problems(body) if p.code == "bad_condition"] == ["flows[2].condition"]


def test_condition_on_a_flow_not_leaving_an_exclusive_gateway() -> None:
    body = base()
    body["flows"][1]["condition"] = "approved"
    assert "condition_not_allowed" in codes(body)


def _split(body: dict[str, Any]) -> dict[str, Any]:
    body["nodes"][1:1] = [{"id": "split", "type": "parallel"}]
    return body


def test_parallel_branch_ending_without_a_join() -> None:
    body = _split(base())
    body["flows"] = [
        {"id": "f0", "from": "start", "to": "split"},
        {"id": "f1", "from": "split", "to": "a"},
        {"id": "f2", "from": "split", "to": "b"},
        {"id": "f3", "from": "a", "to": "end"},
        {"id": "f4", "from": "b", "to": "end"},
    ]
    assert codes(body) == {"end_in_block"}


def test_parallel_branches_meeting_at_two_different_joins() -> None:
    body = _split(base())
    body["nodes"] += [
        {"id": "c", "type": "user_task", "assign": post_rule("big_data")},
        {"id": "j1", "type": "parallel"},
        {"id": "j2", "type": "parallel"},
    ]
    body["flows"] = [
        {"id": "f0", "from": "start", "to": "split"},
        {"id": "f1", "from": "split", "to": "a"},
        {"id": "f2", "from": "split", "to": "b"},
        {"id": "f3", "from": "split", "to": "c"},
        {"id": "f4", "from": "a", "to": "j1"},
        {"id": "f5", "from": "b", "to": "j1"},
        {"id": "f6", "from": "j1", "to": "j2"},
        {"id": "f7", "from": "c", "to": "j2"},
        {"id": "f8", "from": "j2", "to": "end"},
    ]
    assert codes(body) == {"split_unpaired"}


def test_a_flow_leaving_a_branch_crosses_the_block_boundary() -> None:
    body = _split(base())
    body["nodes"] += [
        {"id": "c", "type": "user_task", "assign": post_rule("big_data")},
        {"id": "join", "type": "parallel"},
        {"id": "gw", "type": "exclusive"},
        {"id": "before", "type": "user_task", "assign": post_rule("office")},
    ]
    body["flows"] = [
        {"id": "f0", "from": "start", "to": "before"},
        {"id": "f0b", "from": "before", "to": "split"},
        {"id": "f1", "from": "split", "to": "a"},
        {"id": "f2", "from": "split", "to": "b"},
        {"id": "f3", "from": "a", "to": "gw"},
        {"id": "f4", "from": "gw", "to": "join", "default": True},
        {"id": "f5", "from": "gw", "to": "before", "condition": "!approved"},  # jumps out of the branch
        {"id": "f6", "from": "b", "to": "join"},
        {"id": "f7", "from": "join", "to": "c"},
        {"id": "f8", "from": "c", "to": "end"},
    ]
    assert "block_crossing" in codes(body)


def test_join_without_a_split() -> None:
    body = base()
    body["nodes"].insert(2, {"id": "gw", "type": "exclusive"})
    body["nodes"].insert(3, {"id": "join", "type": "parallel"})
    body["flows"] = [
        {"id": "f0", "from": "start", "to": "a"},
        {"id": "f1", "from": "a", "to": "gw"},
        {"id": "f2", "from": "gw", "to": "b", "condition": "approved"},
        {"id": "f3", "from": "gw", "to": "join", "default": True},
        {"id": "f4", "from": "b", "to": "join"},
        {"id": "f5", "from": "join", "to": "end"},
    ]
    assert "join_unpaired" in codes(body)


def test_user_task_without_assign() -> None:
    body = base()
    del body["nodes"][1]["assign"]
    found = problems(body)
    assert [(p.field, p.code) for p in found] == [("nodes[1]", "unassigned_task")]


def test_posts_rule_needs_multi_and_ratio_needs_a_ratio() -> None:
    body = base()
    body["nodes"][1]["assign"] = {"rule": "posts", "units": [{"ref": "handling_unit"}], "post": "clerk"}
    body["nodes"][2]["multi"] = {"mode": "ratio"}
    assert {"posts_without_multi", "ratio_missing"} <= codes(body)


def test_assign_on_a_gateway_is_not_allowed() -> None:
    body = _split(base())
    body["nodes"][1]["assign"] = post_rule("finance")
    body["flows"] = [
        {"id": "f0", "from": "start", "to": "split"},
        {"id": "f1", "from": "split", "to": "a"},
        {"id": "f2", "from": "a", "to": "b"},
        {"id": "f3", "from": "b", "to": "end"},
    ]
    assert "assign_not_allowed" in codes(body)


def test_user_task_with_two_outgoing_flows_and_end_with_outgoing_flow() -> None:
    body = base()
    body["flows"].append({"id": "f_extra", "from": "a", "to": "end"})
    body["flows"].append({"id": "f_after_end", "from": "end", "to": "b"})
    assert {"bad_user_task", "bad_end"} <= codes(body)


def test_duplicate_node_and_flow_ids() -> None:
    body = base()
    body["nodes"].append({"id": "a", "type": "user_task", "assign": post_rule("finance")})
    body["flows"].append(dict(body["flows"][0]))
    assert {"duplicate_node", "duplicate_flow"} <= codes(body)


def test_unknown_node_type() -> None:
    body = base()
    body["nodes"][1]["type"] = "script_task"
    found = problems(body)
    assert any(p.field == "nodes.1.type" and p.code == "literal_error" for p in found)


def test_extra_unknown_key() -> None:
    body = base()
    body["nodes"][1]["colour"] = "red"
    body["surprise"] = 1
    found = problems(body)
    assert {(p.field, p.code) for p in found} == {
        ("nodes.1.colour", "extra_forbidden"),
        ("surprise", "extra_forbidden"),
    }


def test_every_problem_is_reported_at_once() -> None:
    body = base()
    del body["nodes"][1]["assign"]
    body["flows"].append({"id": "f_bad", "from": "b", "to": "ghost"})
    body["flows"].append({"id": "f0", "from": "start", "to": "b"})
    assert {"unassigned_task", "unknown_node", "duplicate_flow", "bad_start"} <= codes(body)
