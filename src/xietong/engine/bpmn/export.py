"""Write a ``xietong.process/1`` body as a BPMN 2.0 document with xietong's extras and a DI diagram.

Standard BPMN carries what BPMN can say (node kinds, names, flows, CEL conditions, the gateway's default
flow, multi-instance markers); what it cannot say (assignment rules, time limits, 会签/或签 mode and ratio,
the body's ``extensions``) goes into ``bpmn:extensionElements`` in the ``xt`` namespace. Tags are written with
literal prefixes and the namespace declarations are put on the root, so nothing touches ElementTree's global
prefix registry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree as ET

from xietong.engine.bpmn.layout import SIZES, Box, auto_positions, waypoints
from xietong.engine.bpmn.xml import BPMN, BPMNDI, DC, DI, XSI, XT
from xietong.engine.definition import compile_process

CEL_LANGUAGE = "https://github.com/google/cel-spec"
EXPORTER = "xietong"
EXPORTER_VERSION = "1"
TAGS = {
    "start": "bpmn:startEvent",
    "end": "bpmn:endEvent",
    "user_task": "bpmn:userTask",
    "exclusive": "bpmn:exclusiveGateway",
    "parallel": "bpmn:parallelGateway",
}
_COMPLETION = {"any": "nrOfCompletedInstances >= 1"}


def export_bpmn(body: Mapping[str, Any]) -> bytes:
    """A BPMN 2.0 XML document for a valid process body (raises ProcessDefinitionError otherwise)."""
    compile_process(body)
    root = ET.Element(
        "bpmn:definitions",
        {
            "xmlns:bpmn": BPMN,
            "xmlns:bpmndi": BPMNDI,
            "xmlns:dc": DC,
            "xmlns:di": DI,
            "xmlns:xsi": XSI,
            "xmlns:xt": XT,
            "id": "Definitions_1",
            "targetNamespace": XT,
            "exporter": EXPORTER,
            "exporterVersion": EXPORTER_VERSION,
        },
    )
    process = ET.SubElement(root, "bpmn:process", {"id": "Process_1", "isExecutable": "true"})
    if body.get("name"):
        process.set("name", str(body["name"]))
    if body.get("extensions"):
        extensions = ET.SubElement(ET.SubElement(process, "bpmn:extensionElements"), "xt:extensions")
        extensions.text = json.dumps(body["extensions"], ensure_ascii=False, sort_keys=True)
    nodes: list[Mapping[str, Any]] = list(body["nodes"])
    flows: list[Mapping[str, Any]] = list(body["flows"])
    for node in nodes:
        _node(process, node, flows)
    for flow in flows:
        _flow(process, flow, nodes)
    _diagram(root, nodes, flows)
    ET.indent(root, space="  ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode").encode() + b"\n"


def _node(process: ET.Element, node: Mapping[str, Any], flows: list[Mapping[str, Any]]) -> None:
    kind = node["type"]
    element = ET.SubElement(process, TAGS[kind], {"id": node["id"]})
    if node.get("name"):
        element.set("name", node["name"])
    if kind == "exclusive":
        default = next((f for f in flows if f["from"] == node["id"] and f.get("default")), None)
        if default is not None:
            element.set("default", default["id"])
    _extensions(element, node)
    for flow in flows:
        if flow["to"] == node["id"]:
            ET.SubElement(element, "bpmn:incoming").text = flow["id"]
    for flow in flows:
        if flow["from"] == node["id"]:
            ET.SubElement(element, "bpmn:outgoing").text = flow["id"]
    multi = node.get("multi")
    if kind == "user_task" and multi:
        loop = ET.SubElement(
            element,
            "bpmn:multiInstanceLoopCharacteristics",
            {"isSequential": "true" if multi.get("order") == "sequential" else "false"},
        )
        completion = _completion(multi)
        if completion:
            ET.SubElement(
                loop, "bpmn:completionCondition", {"xsi:type": "bpmn:tFormalExpression", "language": CEL_LANGUAGE}
            ).text = completion


def _completion(multi: Mapping[str, Any]) -> str | None:
    if multi["mode"] == "ratio":
        return f"nrOfApprovedInstances >= nrOfInstances * {multi['ratio']}"
    return _COMPLETION.get(multi["mode"])


def _extensions(element: ET.Element, node: Mapping[str, Any]) -> None:
    extras = ET.SubElement(element, "bpmn:extensionElements")
    assign = node.get("assign")
    if assign:
        rule = ET.SubElement(extras, "xt:assign", {"rule": assign["rule"]})
        for key in ("post", "expr"):
            if key in assign:
                rule.set(key, str(assign[key]))
        for unit in [assign["unit"]] if "unit" in assign else assign.get("units", []):
            ET.SubElement(rule, "xt:unit", {k: str(v) for k, v in unit.items()})
        for code in assign.get("people", []):
            ET.SubElement(rule, "xt:person", {"code": str(code)})
    if node.get("multi"):
        multi = node["multi"]
        mode = ET.SubElement(extras, "xt:multi", {"mode": multi["mode"]})
        if multi.get("ratio") is not None:
            mode.set("ratio", repr(float(multi["ratio"])))
    if node.get("limit_days") is not None:
        ET.SubElement(extras, "xt:limit", {"days": str(int(node["limit_days"]))})
    if not len(extras):
        element.remove(extras)


def _flow(process: ET.Element, flow: Mapping[str, Any], nodes: list[Mapping[str, Any]]) -> None:
    element = ET.SubElement(
        process, "bpmn:sequenceFlow", {"id": flow["id"], "sourceRef": flow["from"], "targetRef": flow["to"]}
    )
    if flow.get("name"):
        element.set("name", flow["name"])
    source = next((n for n in nodes if n["id"] == flow["from"]), None)
    if flow.get("default") and (source is None or source["type"] != "exclusive"):
        element.set("xt:default", "true")  # BPMN has no default flow out of events, tasks here or parallel gateways
    if flow.get("condition") is not None:
        ET.SubElement(
            element, "bpmn:conditionExpression", {"xsi:type": "bpmn:tFormalExpression", "language": CEL_LANGUAGE}
        ).text = flow["condition"]


def _diagram(root: ET.Element, nodes: list[Mapping[str, Any]], flows: list[Mapping[str, Any]]) -> None:
    auto = auto_positions(nodes, flows)
    boxes: dict[str, Box] = {}
    diagram = ET.SubElement(root, "bpmndi:BPMNDiagram", {"id": "BPMNDiagram_1"})
    plane = ET.SubElement(diagram, "bpmndi:BPMNPlane", {"id": "BPMNPlane_1", "bpmnElement": "Process_1"})
    for node in nodes:
        placed = node.get("x") is not None and node.get("y") is not None
        width, height = SIZES[node["type"]]
        box = Box(float(node["x"]), float(node["y"]), width, height) if placed else auto[node["id"]]
        boxes[node["id"]] = box
        shape = ET.SubElement(plane, "bpmndi:BPMNShape", {"id": f"{node['id']}_di", "bpmnElement": node["id"]})
        if node["type"] == "exclusive":
            shape.set("isMarkerVisible", "true")
        if not placed:
            shape.set("xt:auto", "true")  # laid out by the exporter: the body had no position
        ET.SubElement(shape, "dc:Bounds", _bounds(box, node, placed))
    bottom = max((b.y + b.height for b in boxes.values()), default=0)
    for flow in flows:
        edge = ET.SubElement(plane, "bpmndi:BPMNEdge", {"id": f"{flow['id']}_di", "bpmnElement": flow["id"]})
        for x, y in waypoints(boxes[flow["from"]], boxes[flow["to"]], bottom):
            ET.SubElement(edge, "di:waypoint", {"x": _number(x), "y": _number(y)})


def _bounds(box: Box, node: Mapping[str, Any], placed: bool) -> dict[str, str]:
    x, y = (node["x"], node["y"]) if placed else (box.x, box.y)
    return {"x": _number(x), "y": _number(y), "width": _number(box.width), "height": _number(box.height)}


def _number(value: float) -> str:
    """Integers without a fraction (``40``), other numbers exactly (``repr``), so positions read back unchanged."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)
