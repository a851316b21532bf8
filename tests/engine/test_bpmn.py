"""BPMN 2.0 import/export: lossless round trips, other tools' files, every problem located, hostile XML refused."""

from __future__ import annotations

import copy
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import joint_approval_process, linear_process, make_city, post_rule, publish_matter
from xietong.catalog.bpmn_io import MAX_BPMN_BYTES, bpmn_of_version, process_from_bpmn
from xietong.catalog.models import MatterVersion
from xietong.demo.catalogue import build_catalogue
from xietong.demo.city import build_city
from xietong.engine.bpmn import canonical_process, export_bpmn, foreign, import_bpmn
from xietong.engine.bpmn.xml import BPMN, BPMNDI, DC, DI, XT, q
from xietong.engine.definition import compile_process
from xietong.engine.errors import ProcessDefinitionError
from xietong.errors import NotFound, TooLarge

FILES = Path(__file__).parent / "bpmn"
CEL = "https://github.com/google/cel-spec"


def read(name: str) -> bytes:
    return (FILES / name).read_bytes()


def refused(data: bytes) -> ProcessDefinitionError:
    with pytest.raises(ProcessDefinitionError) as info:
        import_bpmn(data)
    error = info.value
    assert error.code == "bpmn_invalid" and error.errors
    assert len(error.extra["locations"]) == len(error.errors)
    return error


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def tree(data: bytes) -> Any:
    from defusedxml.ElementTree import fromstring

    return fromstring(data)


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return canonical_process(a) == canonical_process(b)


# ---------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------

FACTORY_PROCESSES = {
    "linear": linear_process(("a", post_rule("finance")), ("b", post_rule("hr_social", "leader_in_charge"))),
    "linear_one": linear_process(("only", {"rule": "applicant_leader"})),
    "joint": joint_approval_process(),
    "joint_two": joint_approval_process(("finance", "staffing")),
}


@pytest.mark.parametrize("name", sorted(FACTORY_PROCESSES))
def test_factory_processes_round_trip_exactly(name: str) -> None:
    body = FACTORY_PROCESSES[name]
    assert import_bpmn(export_bpmn(body)) == body  # not even a position is invented


def test_every_demo_process_round_trips() -> None:
    processes = build_catalogue(build_city()).processes
    assert len(processes) == 59
    for process_id, body in processes.items():
        back = import_bpmn(export_bpmn(body))
        assert same(back, body), process_id
        assert back == {k: v for k, v in body.items() if k != "extensions" or v}, process_id


def test_round_trip_keeps_extensions_names_people_and_expressions() -> None:
    body = linear_process(
        ("experts", {"rule": "people", "people": ["E001", "E<&>\"'002"]}),
        ("picked", {"rule": "expression", "expr": 'form.reviewers.map(r, r + "")'}),
    )
    body["name"] = '名称 <含> & "特殊" 字符\n第二行'
    body["nodes"][1] |= {"name": "专家\t评审", "limit_days": 0, "multi": {"mode": "all", "order": "sequential"}}
    body["nodes"][2] |= {"x": 12.25, "y": -3.5}
    body["flows"][0]["name"] = "提交"
    body["extensions"] = {"ui": {"zoom": 1.5, "tags": ["a", "b"]}, "note": "中文"}
    back = import_bpmn(export_bpmn(body))
    assert back == body


# A small generator of valid processes: a chain of segments, each a task, an exclusive diamond or a parallel block.
_codes = st.text(alphabet="ABCDEFGHJK0123456789", min_size=1, max_size=8)
_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\n\t<&>\"'"), max_size=30)
_units = st.one_of(
    st.just({"ref": "handling_unit"}),
    st.just({"ref": "applicant_unit"}),
    st.builds(lambda f: {"ref": "function", "function": f}, st.sampled_from(["finance", "big_data", "staffing"])),
    st.builds(lambda c: {"ref": "unit", "code": c}, _codes),
)
_rules = st.one_of(
    st.builds(lambda u, p: {"rule": "post", "unit": u, "post": p}, _units, st.sampled_from(["clerk", "head"])),
    st.just({"rule": "applicant_leader"}),
    st.builds(lambda people: {"rule": "people", "people": people}, st.lists(_codes, min_size=1, max_size=3)),
    st.builds(lambda k: {"rule": "expression", "expr": f"form.{k}"}, st.sampled_from(["a", "people"])),
)
_multis = st.one_of(
    st.none(),
    st.builds(
        lambda mode, order, ratio: {"mode": mode, "order": order} | ({"ratio": ratio} if mode == "ratio" else {}),
        st.sampled_from(["all", "any", "ratio"]),
        st.sampled_from(["parallel", "sequential"]),
        st.sampled_from([0.5, 0.6, 1.0, 0.3333333333333333]),
    ),
)
_positions = st.one_of(
    st.just({}),
    st.builds(lambda x, y: {"x": x, "y": y}, st.integers(-500, 5000), st.integers(-500, 5000)),
    st.builds(
        lambda x, y: {"x": x, "y": y},
        st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False),
        st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False),
    ),
)


@st.composite
def processes(draw: st.DrawFn) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "start"}]
    flows: list[dict[str, Any]] = []
    counter = iter(range(10_000))

    def node(kind: str, **extra: Any) -> str:
        node_id = f"n{next(counter)}"
        name = draw(_text)
        nodes.append({"id": node_id, "type": kind, **({"name": name} if name else {}), **draw(_positions), **extra})
        return node_id

    def task() -> str:
        extra: dict[str, Any] = {"assign": draw(_rules)}
        multi = draw(_multis)
        if multi is not None:
            extra["multi"] = multi
            if draw(st.booleans()):
                extra["assign"] = {
                    "rule": "posts",
                    "units": draw(st.lists(_units, min_size=1, max_size=3)),
                    "post": "c",
                }
        if draw(st.booleans()):
            extra["limit_days"] = draw(st.integers(0, 365))
        return node("user_task", **extra)

    def flow(source: str, target: str, **extra: Any) -> None:
        name = draw(_text)
        flows.append(
            {"id": f"f{next(counter)}", "from": source, "to": target, **({"name": name} if name else {}), **extra}
        )

    last = "start"
    for kind in draw(st.lists(st.sampled_from(["task", "exclusive", "parallel"]), min_size=1, max_size=5)):
        if kind == "task":
            nxt = task()
            flow(last, nxt)
        elif kind == "exclusive":
            gateway, inner, after = node("exclusive", **draw(st.sampled_from([{}, {"limit_days": 1}]))), task(), task()
            flow(last, gateway)
            flow(
                gateway,
                inner,
                condition=draw(st.sampled_from(["approved", " form.amount > 3\n", '!steps["x"].approved'])),
            )
            flow(gateway, after, default=True)
            flow(inner, after)
            nxt = after
        else:
            split = node("parallel")
            branches = [task() for _ in range(draw(st.integers(2, 3)))]
            join = node("parallel")
            flow(last, split)
            for branch in branches:
                flow(split, branch)
                flow(branch, join)
            nxt = join
        last = nxt
    end = node("end")
    flow(last, end)
    body: dict[str, Any] = {"schema": "xietong.process/1", "nodes": nodes, "flows": flows}
    name = draw(_text)
    if name:
        body["name"] = name
    if draw(st.booleans()):
        body["extensions"] = draw(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3))
    return body


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(processes())
def test_generated_processes_round_trip(body: dict[str, Any]) -> None:
    compile_process(body)
    back = import_bpmn(export_bpmn(body))
    assert same(back, body)
    assert export_bpmn(back) == export_bpmn(body)


# ---------------------------------------------------------------------------
# What the export looks like
# ---------------------------------------------------------------------------


def test_export_writes_standard_bpmn_with_xt_extras_and_di() -> None:
    body = build_catalogue(build_city()).processes["ratio.finance.audit.government_office"]
    root = tree(export_bpmn(body))
    process = root.find(q(BPMN, "process"))
    assert process.get("name") == body["name"]
    assert [e.get("id") for e in process if e.tag != q(BPMN, "sequenceFlow")] == [n["id"] for n in body["nodes"]]
    assert process.find(q(BPMN, "exclusiveGateway")).get("default") == "f5"
    condition = process.find(f"{q(BPMN, 'sequenceFlow')}/{q(BPMN, 'conditionExpression')}")
    assert (condition.get("language"), condition.text) == (CEL, "approved")
    vote = next(e for e in process.iter(q(BPMN, "userTask")) if e.get("id") == "vote")
    loop = vote.find(q(BPMN, "multiInstanceLoopCharacteristics"))
    assert loop.get("isSequential") == "false"
    assert loop.find(q(BPMN, "completionCondition")).text == "nrOfApprovedInstances >= nrOfInstances * 0.5"
    assign = vote.find(f"{q(BPMN, 'extensionElements')}/{q(XT, 'assign')}")
    assert (assign.get("rule"), assign.get("post")) == ("posts", "section_chief")
    assert [u.get("function") for u in assign.findall(q(XT, "unit"))] == ["finance", "audit", "government_office"]
    assert vote.find(f"{q(BPMN, 'extensionElements')}/{q(XT, 'multi')}").attrib == {"mode": "ratio", "ratio": "0.5"}
    assert vote.find(f"{q(BPMN, 'extensionElements')}/{q(XT, 'limit')}").get("days") == "5"
    plane = root.find(f"{q(BPMNDI, 'BPMNDiagram')}/{q(BPMNDI, 'BPMNPlane')}")
    shapes = {s.get("bpmnElement"): s.find(q(DC, "Bounds")) for s in plane.iter(q(BPMNDI, "BPMNShape"))}
    assert set(shapes) == {n["id"] for n in body["nodes"]}
    assert (shapes["leader"].get("x"), shapes["leader"].get("y")) == ("680", "60")
    edges = {e.get("bpmnElement"): e.findall(q(DI, "waypoint")) for e in plane.iter(q(BPMNDI, "BPMNEdge"))}
    assert set(edges) == {f["id"] for f in body["flows"]} and all(len(w) >= 2 for w in edges.values())


def test_any_sign_and_sequential_countersign_markers() -> None:
    body = linear_process(("sign", {"rule": "posts", "units": [{"ref": "handling_unit"}], "post": "clerk"}))
    body["nodes"][1]["multi"] = {"mode": "any", "order": "sequential"}
    loop = tree(export_bpmn(body)).find(f".//{q(BPMN, 'multiInstanceLoopCharacteristics')}")
    assert loop.get("isSequential") == "true"
    assert loop.find(q(BPMN, "completionCondition")).text == "nrOfCompletedInstances >= 1"
    body["nodes"][1]["multi"] = {"mode": "all"}
    loop = tree(export_bpmn(body)).find(f".//{q(BPMN, 'multiInstanceLoopCharacteristics')}")
    assert loop.get("isSequential") == "false" and loop.find(q(BPMN, "completionCondition")) is None


def test_layout_is_deterministic_left_to_right_and_free_of_overlaps() -> None:
    body = joint_approval_process()
    data = export_bpmn(body)
    assert export_bpmn(copy.deepcopy(body)) == data
    plane = tree(data).find(f"{q(BPMNDI, 'BPMNDiagram')}/{q(BPMNDI, 'BPMNPlane')}")
    boxes = {}
    for shape in plane.iter(q(BPMNDI, "BPMNShape")):
        bounds = shape.find(q(DC, "Bounds"))
        boxes[shape.get("bpmnElement")] = tuple(float(bounds.get(k)) for k in ("x", "y", "width", "height"))
        assert shape.get(q(XT, "auto")) == "true"
    order = ["start", "accept", "split", "review_finance", "join", "gw", "approve", "end"]
    assert [boxes[n][0] + boxes[n][2] / 2 for n in order] == sorted(boxes[n][0] + boxes[n][2] / 2 for n in order)
    assert min(b[1] for b in boxes.values()) >= 0
    items = list(boxes.values())
    for i, (x1, y1, w1, h1) in enumerate(items):
        for x2, y2, w2, h2 in items[i + 1 :]:
            assert x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1


def test_export_validates_against_the_bpmn_xsd() -> None:
    validation = pytest.importorskip("SpiffWorkflow.bpmn.parser.BpmnParser", reason="XSDs ship with SpiffWorkflow")
    etree = pytest.importorskip("lxml.etree")
    schema = validation.BpmnValidator().validator
    bodies = [*FACTORY_PROCESSES.values(), *build_catalogue(build_city()).processes.values()]
    for body in bodies:
        document = etree.fromstring(export_bpmn(body), etree.XMLParser(resolve_entities=False, no_network=True))
        assert schema.validate(document), schema.error_log
    for name in ("camunda_modeler_5.bpmn", "flowable_modeler.bpmn20.xml", "bpmn_js_edited_export.bpmn"):
        document = etree.fromstring(read(name), etree.XMLParser(resolve_entities=False, no_network=True))
        assert schema.validate(document), (name, schema.error_log)


def test_export_refuses_a_body_that_does_not_compile() -> None:
    body = linear_process(("a", post_rule("finance")))
    del body["nodes"][1]["assign"]
    with pytest.raises(ProcessDefinitionError):
        export_bpmn(body)


def test_auto_placed_shapes_that_were_moved_keep_their_position() -> None:
    body = linear_process(("a", post_rule("finance")))
    data = export_bpmn(body).replace(b'x="290" y="60"', b'x="300" y="75"')
    assert b'x="300" y="75"' in data
    moved = import_bpmn(data)
    assert (moved["nodes"][1]["x"], moved["nodes"][1]["y"]) == (300, 75)
    assert "x" not in moved["nodes"][0]


# ---------------------------------------------------------------------------
# Files written by other tools
# ---------------------------------------------------------------------------


def test_camunda_modeler_5_file_imports_with_camunda_attributes_mapped() -> None:
    body = import_bpmn(read("camunda_modeler_5.bpmn"))
    nodes = {n["id"]: n for n in body["nodes"]}
    flows = {f["id"]: f for f in body["flows"]}
    assert body["name"] == "资金拨付审批"
    assert nodes["Activity_0vx3m1k"]["assign"] == {
        "rule": "post",
        "unit": {"ref": "handling_unit"},
        "post": "section_chief",
    }
    assert nodes["Activity_0p2j6ys"]["assign"] == {"rule": "people", "people": ["E1001", "E1002", "E1003"]}
    assert nodes["Activity_0p2j6ys"]["multi"] == {"mode": "all", "order": "parallel"}
    assert nodes["Activity_1qk5c0v"]["assign"] == {"rule": "people", "people": ["E2001"]}
    assert flows["Flow_0r3q8mw"]["condition"] == "form.amount > 50"
    assert flows["Flow_16l0c1m"]["default"] is True and flows["Flow_16l0c1m"]["name"] == "否"
    assert (nodes["StartEvent_1"]["x"], nodes["StartEvent_1"]["y"]) == (179, 159)
    compiled = compile_process(body)
    assert compiled.node("Gateway_0qj5a8z").join == "Gateway_1xw9lq2"


def test_flowable_modeler_file_imports_with_flowable_attributes_mapped() -> None:
    body = import_bpmn(read("flowable_modeler.bpmn20.xml"))
    nodes = {n["id"]: n for n in body["nodes"]}
    flows = {f["id"]: f for f in body["flows"]}
    assert nodes["countersignTask"]["multi"] == {"mode": "all", "order": "sequential"}
    assert nodes["countersignTask"]["assign"]["post"] == "section_chief"
    assert nodes["leaderTask"]["assign"] == {"rule": "people", "people": ["E3001"]}
    assert flows["sid-6F5E4D3C-2B1A-4098-8F7E-6D5C4B3A2918"]["condition"] == "approved"
    assert flows["sid-1D2E3F4A-5B6C-4D7E-8F9A-0B1C2D3E4F5A"]["condition"] == 'form.level == "major"'
    assert flows["sid-A1B2C3D4-E5F6-4789-9ABC-DEF012345678"]["default"] is True
    assert (nodes["rejectedEnd"]["x"], nodes["rejectedEnd"]["y"]) == (471, 285)


def test_signavio_export_imports_ignoring_pool_lanes_and_metadata() -> None:
    body = import_bpmn(read("signavio_export.bpmn"))
    assert [n["type"] for n in body["nodes"]] == ["start", "user_task", "exclusive", "user_task", "end"]
    tasks = [n for n in body["nodes"] if n["type"] == "user_task"]
    assert [t["assign"]["post"] for t in tasks] == ["section_chief", "leader_in_charge"]
    condition = next(f["condition"] for f in body["flows"] if "condition" in f)
    assert condition == 'form.share_type == "conditional"'


def test_signavio_export_without_performers_names_every_task_and_its_line() -> None:
    text = read("signavio_export.bpmn").decode()
    stripped = re.sub(r"\s*<potentialOwner.*?</potentialOwner>", "", text, flags=re.DOTALL)
    error = refused(stripped.encode())
    assert [p.code for p in error.errors] == ["bpmn_unassigned", "bpmn_unassigned"]
    for problem, task_id in zip(error.errors, ["sid-57B3B393", "sid-49D70FD4"], strict=True):
        line = line_of(stripped, f'id="{task_id}')
        assert problem.field.startswith(f"bpmn:userTask#{task_id}") and problem.message.startswith(f"第 {line} 行")


def test_bpmn_js_edit_of_an_export_imports_with_the_edits() -> None:
    original = build_catalogue(build_city()).processes["ratio.finance.audit.government_office"]
    body = import_bpmn(read("bpmn_js_edited_export.bpmn"))
    expected = copy.deepcopy(original)
    del expected["extensions"]
    expected["nodes"][1]["name"] = "科室初审"
    expected["nodes"][5] |= {"x": 702, "y": 292}
    expected["flows"][3]["name"] = "通过"
    assert body == expected


def test_bpmn_js_new_diagram_names_plain_tasks_and_missing_assignees() -> None:
    text = read("bpmn_js_new_diagram.bpmn").decode()
    error = refused(text.encode())
    assert [(p.code, p.field) for p in error.errors] == [
        ("bpmn_unsupported", "bpmn:task#Activity_1b7gq0k"),
        ("bpmn_unassigned", "bpmn:userTask#Activity_0c2mv9e"),
    ]
    assert error.extra["locations"][0] == {
        "id": "Activity_1b7gq0k",
        "tag": "bpmn:task",
        "line": line_of(text, '<bpmn:task id="Activity_1b7gq0k"'),
    }


def test_unsupported_elements_are_each_named_with_tag_and_line_and_nothing_else_runs() -> None:
    text = read("unsupported_elements.bpmn").decode()
    error = refused(text.encode())
    found = {(p.code, p.field): p.message for p in error.errors}
    expected = {
        ("bpmn_many_pools", "bpmn:participant#Participant_applicant"): 'id="Participant_applicant"',
        ("bpmn_unsupported", "bpmn:messageFlow#Flow_msg_notice"): 'id="Flow_msg_notice"',
        (
            "bpmn_unsupported",
            "bpmn:startEvent#StartEvent_1",
        ): '<bpmn:timerEventDefinition id="TimerEventDefinition_0a7x',
        ("bpmn_assignment", "bpmn:userTask#Activity_review"): 'id="Activity_review"',
        ("bpmn_unsupported", "bpmn:boundaryEvent#Event_timeout"): 'id="Event_timeout"',
        ("bpmn_unsupported", "bpmn:serviceTask#Activity_notify"): 'id="Activity_notify"',
        ("bpmn_unsupported", "bpmn:subProcess#Activity_archive"): 'id="Activity_archive"',
        ("bpmn_unassigned", "bpmn:userTask#Activity_unassigned"): 'id="Activity_unassigned"',
        ("bpmn_condition", "bpmn:sequenceFlow#Flow_yes"): 'language="javascript"',
        ("bpmn_flow_dangling", "bpmn:sequenceFlow#Flow_lost"): 'id="Flow_lost"',
        ("bpmn_missing_id", "bpmn:sequenceFlow"): '<bpmn:sequenceFlow sourceRef="Gateway_check"',
    }
    assert set(found) == set(expected)
    for key, needle in expected.items():
        assert found[key].startswith(f"第 {line_of(text, needle)} 行 "), (key, found[key])
    assert "定时事件" in found[("bpmn_unsupported", "bpmn:startEvent#StartEvent_1")]
    assert "${initiator}" in found[("bpmn_assignment", "bpmn:userTask#Activity_review")]
    assert "javascript" in found[("bpmn_condition", "bpmn:sequenceFlow#Flow_yes")]
    assert "Activity_deleted" in found[("bpmn_flow_dangling", "bpmn:sequenceFlow#Flow_lost")]


def test_compiler_problems_are_moved_onto_the_bpmn_elements() -> None:
    text = read("camunda_modeler_5.bpmn").decode().replace(' default="Flow_16l0c1m"', "")
    error = refused(text.encode())
    assert [(p.code, p.field) for p in error.errors] == [
        ("gateway_default", "bpmn:exclusiveGateway#Gateway_1c9b2xq"),
        ("condition_missing", "bpmn:sequenceFlow#Flow_16l0c1m"),
    ]
    gateway_line, flow_line = (
        line_of(text, 'id="Gateway_1c9b2xq"'),
        line_of(text, '<bpmn:sequenceFlow id="Flow_16l0c1m"'),
    )
    assert error.errors[0].message.startswith(f"第 {gateway_line} 行 bpmn:exclusiveGateway“Gateway_1c9b2xq”：排他网关")
    assert error.errors[1].message.startswith(f"第 {flow_line} 行 bpmn:sequenceFlow“Flow_16l0c1m”")
    assert [loc["line"] for loc in error.extra["locations"]] == [gateway_line, flow_line]


def test_ids_the_engine_cannot_use_are_named() -> None:
    text = read("camunda_modeler_5.bpmn").decode().replace('"Activity_1h8t0nd"', '"Activity.1h8t0nd"')
    error = refused(text.encode())
    assert [(p.code, p.field) for p in error.errors] == [("bpmn_bad_id", "bpmn:userTask#Activity.1h8t0nd")]


# ---------------------------------------------------------------------------
# Hostile and malformed input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "hostile_billion_laughs.bpmn",
        "hostile_external_entity.bpmn",
        "hostile_external_dtd.bpmn",
        "hostile_parameter_entity.bpmn",
    ],
)
def test_hostile_xml_is_refused_before_anything_is_expanded_or_fetched(name: str) -> None:
    started = time.perf_counter()
    error = refused(read(name))
    assert time.perf_counter() - started < 1
    assert [p.code for p in error.errors] == ["xml_forbidden"]
    assert error.errors[0].message.startswith("第 2 行") and "DTD" in error.errors[0].message
    assert "root:" not in error.detail


def test_an_entity_reference_without_a_dtd_is_malformed_not_resolved() -> None:
    text = read("bpmn_js_new_diagram.bpmn").decode().replace('name="受理"', 'name="&xxe;"')
    error = refused(text.encode())
    assert [p.code for p in error.errors] == ["xml_malformed"] and "未定义的实体" in error.errors[0].message


@pytest.mark.parametrize(
    ("name", "line"),
    [("malformed_not_xml.bpmn", 1), ("malformed_truncated.bpmn", 14), ("malformed_mismatched_tag.bpmn", 6)],
)
def test_malformed_xml_names_the_line(name: str, line: int) -> None:
    error = refused(read(name))
    assert [p.code for p in error.errors] == ["xml_malformed"]
    assert error.errors[0].message.startswith(f"第 {line} 行：不是合法的 XML")


def test_a_gbk_file_is_refused_with_a_hint_to_save_as_utf8() -> None:
    text = read("bpmn_js_new_diagram.bpmn").decode().replace('encoding="UTF-8"', 'encoding="GBK"')
    error = refused(text.encode("gbk"))
    assert [p.code for p in error.errors] == ["xml_malformed"] and "UTF-8" in error.errors[0].message


def test_a_document_that_is_not_bpmn_is_named() -> None:
    error = refused(b'<?xml version="1.0"?>\n<html><body/></html>')
    assert [p.code for p in error.errors] == ["bpmn_root"]
    error = refused(f'<definitions xmlns="{BPMN}" id="d"/>'.encode())
    assert [p.code for p in error.errors] == ["bpmn_no_process"]


# ---------------------------------------------------------------------------
# Mappings of other tools' values
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "cel"),
    [
        ("${approved}", None, "approved"),
        ("${!approved}", None, "!approved"),
        ("${ not done }", None, "!form.done"),
        ("${ok}", "juel", "form.ok"),
        ("${kind == 'major'}", None, 'form.kind == "major"'),
        ('#{kind != "minor"}', None, 'form.kind != "minor"'),
        ("${n > 3}", None, "form.n > 3"),
        ("${n ge 2.5}", None, "form.n >= 2.5"),
        ("${approved == true}", None, "approved == true"),
        (" form.amount > 3 ", None, "form.amount > 3"),
        ("form.amount > 3", "CEL", "form.amount > 3"),
        ("steps.review.approved", CEL, "steps.review.approved"),
        (" approved\n", CEL, " approved\n"),
    ],
)
def test_conditions_become_cel(text: str, language: str | None, cel: str) -> None:
    assert foreign.condition(text, language) == cel


@pytest.mark.parametrize(
    ("text", "language", "reason"),
    [
        ("${a && b}", None, "无法自动转换"),
        ("${execution.getVariable('x')}", None, "无法自动转换"),
        ("= amount > 3", None, "FEEL"),
        ("amount > 3", "javascript", "javascript"),
        ("amount > 3", "http://www.w3.org/1999/XPath", "XPath"),
    ],
)
def test_conditions_that_cannot_become_cel_are_refused(text: str, language: str | None, reason: str) -> None:
    with pytest.raises(foreign.Unmappable, match=reason):
        foreign.condition(text, language)


def test_assignment_mapping() -> None:
    assert foreign.assignment([], ["clerk"]) == {"rule": "post", "unit": {"ref": "handling_unit"}, "post": "clerk"}
    assert foreign.assignment(["E1", "E2"], []) == {"rule": "people", "people": ["E1", "E2"]}
    assert foreign.resource_expression("user(E1), group(clerk), head") == (["E1"], ["clerk", "head"])
    for people, groups, reason in [
        ([], ["a", "b"], "只能有一个"),
        (["E1"], ["a"], "只保留一种"),
        (["${initiator}"], [], "无法转换"),
        ([], ["=groups"], "无法转换"),
    ]:
        with pytest.raises(foreign.Unmappable, match=reason):
            foreign.assignment(people, groups)


def test_zeebe_assignment_definition_is_read() -> None:
    text = read("bpmn_js_new_diagram.bpmn").decode().replace("bpmn:task", "bpmn:userTask")
    zeebe = '<bpmn:extensionElements><zeebe:assignmentDefinition candidateGroups="clerk" /></bpmn:extensionElements>'
    text = text.replace('name="受理">', f'name="受理">{zeebe}').replace('name="审核">', f'name="审核">{zeebe}')
    text = text.replace("<bpmn:definitions ", '<bpmn:definitions xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" ')
    body = import_bpmn(text.encode())
    assert [n["assign"]["post"] for n in body["nodes"] if n["type"] == "user_task"] == ["clerk", "clerk"]


@pytest.mark.parametrize(
    ("text", "multi"),
    [
        (None, {"mode": "all"}),
        ("${nrOfCompletedInstances >= 1}", {"mode": "any"}),
        ("nrOfCompletedInstances == 1", {"mode": "any"}),
        ("nrOfApprovedInstances >= nrOfInstances * 0.6", {"mode": "ratio", "ratio": 0.6}),
    ],
)
def test_completion_conditions(text: str | None, multi: dict[str, Any]) -> None:
    assert foreign.completion(text) == multi


def test_a_completion_ratio_of_finished_signers_is_refused() -> None:
    with pytest.raises(foreign.Unmappable, match="无法转换"):
        foreign.completion("${nrOfCompletedInstances/nrOfInstances >= 0.6}")


# ---------------------------------------------------------------------------
# catalog.bpmn_io
# ---------------------------------------------------------------------------


def test_process_from_bpmn_caps_the_size_before_parsing() -> None:
    with pytest.raises(TooLarge) as info:
        process_from_bpmn(b" " * (MAX_BPMN_BYTES + 1))
    assert info.value.code == "bpmn_too_large"
    body = process_from_bpmn(read("camunda_modeler_5.bpmn"))
    assert compile_process(body).start == "StartEvent_1"


def test_bpmn_of_a_published_version_imports_back_to_its_process(session: Session) -> None:
    city = make_city(session)
    process = joint_approval_process()
    local = publish_matter(session, city, process)
    version_id = session.scalar(select(MatterVersion.id).where(MatterVersion.local_matter_id == local.id))
    assert version_id is not None
    data = bpmn_of_version(session, version_id)
    assert json.loads(json.dumps(import_bpmn(data))) == process
    with pytest.raises(NotFound):
        bpmn_of_version(session, version_id + 10_000)
