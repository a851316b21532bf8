"""Read a parsed BPMN document into a ``xietong.process/1`` body, collecting every problem with its element.

The reader accepts the supported subset (one process; start and end events without event definitions,
user tasks, exclusive and parallel gateways, sequence flows), ignores what does not change behaviour
(lanes, annotations, documentation, other tools' extension elements, DI styling) and names everything else.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from xietong.engine.bpmn import foreign
from xietong.engine.bpmn.layout import auto_positions
from xietong.engine.bpmn.xml import (
    ACTIVITI,
    BPMN,
    BPMNDI,
    CAMUNDA,
    DC,
    FLOWABLE,
    XT,
    ZEEBE,
    Document,
    Located,
    display,
    problem,
    q,
    split,
)
from xietong.engine.schema import NODE_ID
from xietong.errors import FieldProblem

NODE_KINDS = {
    "startEvent": "start",
    "endEvent": "end",
    "userTask": "user_task",
    "exclusiveGateway": "exclusive",
    "parallelGateway": "parallel",
}
UNSUPPORTED = {
    "task": "未指定类型的任务（请改为用户任务 userTask）",
    "serviceTask": "服务任务",
    "scriptTask": "脚本任务",
    "sendTask": "发送任务",
    "receiveTask": "接收任务",
    "manualTask": "手工任务（请改为用户任务 userTask）",
    "businessRuleTask": "业务规则任务",
    "callActivity": "调用活动",
    "subProcess": "子流程",
    "adHocSubProcess": "自由子流程",
    "transaction": "事务子流程",
    "boundaryEvent": "边界事件",
    "intermediateCatchEvent": "中间捕获事件",
    "intermediateThrowEvent": "中间抛出事件",
    "inclusiveGateway": "包容网关",
    "eventBasedGateway": "事件网关",
    "complexGateway": "复杂网关",
    "dataObject": "数据对象",
    "dataObjectReference": "数据对象引用",
    "dataStoreReference": "数据存储引用",
    "timerEventDefinition": "定时事件",
    "messageEventDefinition": "消息事件",
    "signalEventDefinition": "信号事件",
    "errorEventDefinition": "错误事件",
    "escalationEventDefinition": "升级事件",
    "conditionalEventDefinition": "条件事件",
    "compensateEventDefinition": "补偿事件",
    "cancelEventDefinition": "取消事件",
    "linkEventDefinition": "链接事件",
    "terminateEventDefinition": "终止事件",
    "standardLoopCharacteristics": "循环任务",
    "messageFlow": "消息流",
    "ioSpecification": "输入输出定义",
    "dataInputAssociation": "数据输入关联",
    "dataOutputAssociation": "数据输出关联",
}
IGNORED_IN_PROCESS = {"documentation", "extensionElements", "laneSet", "textAnnotation", "association", "group"}
IGNORED_IN_NODE = {"documentation", "extensionElements", "incoming", "outgoing"}
IGNORED_AT_ROOT = {
    "documentation", "extensionElements", "message", "signal", "error", "escalation", "itemDefinition",
    "category", "resource", "dataStore", "interface", "import", "extension", "relationship",
}  # fmt: skip
TASK_CHILDREN = {"multiInstanceLoopCharacteristics", "potentialOwner", "humanPerformer"}
ASSIGNEE_NAMESPACES = (CAMUNDA, ACTIVITI, FLOWABLE)
_ID = re.compile(NODE_ID)


@dataclass
class Reader:
    """One pass over a document; ``problems`` and ``locations`` grow together."""

    doc: Document
    problems: list[FieldProblem] = field(default_factory=list)
    locations: list[Located] = field(default_factory=list)
    node_elements: list[Element] = field(default_factory=list)
    flow_elements: list[Element] = field(default_factory=list)
    process: Element | None = None

    def report(self, owner: Element, message: str, code: str, *, at: Element | None = None) -> None:
        """A problem of ``owner`` (its id and tag name it) found on the line of ``at`` (a child, say)."""
        where = Located(owner.get("id", ""), display(owner.tag), self.doc.line(at if at is not None else owner))
        self.problems.append(problem(where, message, code))
        self.locations.append(where)

    def read(self) -> dict[str, Any]:
        root = self.doc.root
        if root.tag != q(BPMN, "definitions"):
            self.report(root, "根元素必须是 BPMN 2.0 的 definitions", "bpmn_root")
            return {}
        processes, shapes = self._root_children(root)
        if not processes:
            self.report(root, "文件中没有流程（bpmn:process）", "bpmn_no_process")
            return {}
        for extra in processes[1:]:
            self.report(extra, "只支持一个流程（一个池）；请把各池拆成单独的文件", "bpmn_many_processes")
        self.process = processes[0]
        return self._process(processes[0], shapes)

    def _root_children(self, root: Element) -> tuple[list[Element], dict[str, Element]]:
        processes = [c for c in root if c.tag == q(BPMN, "process")]
        shapes: dict[str, Element] = {}
        for child in root:
            namespace, local = split(child.tag)
            if child.tag == q(BPMN, "collaboration"):
                self._collaboration(child)
            elif child.tag == q(BPMNDI, "BPMNDiagram"):
                for shape in child.iter(q(BPMNDI, "BPMNShape")):
                    shapes.setdefault(shape.get("bpmnElement", ""), shape)
            elif namespace == BPMN and local not in IGNORED_AT_ROOT and local != "process":
                self._unsupported(child)
        if len(processes) > 1:
            with_nodes = [p for p in processes if any(split(c.tag)[1] in NODE_KINDS for c in p)]
            processes = with_nodes or processes[:1]
        return processes, shapes

    def _collaboration(self, collaboration: Element) -> None:
        participants = collaboration.findall(q(BPMN, "participant"))
        for extra in participants[1:]:
            self.report(extra, "只支持一个池（参与者）；请把各池拆成单独的文件", "bpmn_many_pools")
        for flow in collaboration.findall(q(BPMN, "messageFlow")):
            self._unsupported(flow)

    def _unsupported(self, element: Element, owner: Element | None = None) -> None:
        local = split(element.tag)[1]
        kind = UNSUPPORTED.get(local, "元素")
        self.report(owner if owner is not None else element, f"不支持{kind}（{local}）", "bpmn_unsupported", at=element)

    def _process(self, process: Element, shapes: dict[str, Element]) -> dict[str, Any]:
        known_ids = {c.get("id", "") for c in process}
        nodes: list[dict[str, Any]] = []
        flows: list[dict[str, Any]] = []
        defaults: dict[str, tuple[str, Element]] = {}
        extensions: dict[str, Any] = {}
        for child in process:
            namespace, local = split(child.tag)
            if namespace != BPMN:
                continue  # another tool's element placed directly in the process: not ours to judge
            if local in NODE_KINDS:
                node = self._node(child, NODE_KINDS[local])
                if node is not None:
                    nodes.append(node)
                    self.node_elements.append(child)
                    if local == "exclusiveGateway" and child.get("default"):
                        defaults[child.get("default", "")] = (node["id"], child)
            elif local == "sequenceFlow":
                flow = self._flow(child, known_ids)
                if flow is not None:
                    flows.append(flow)
                    self.flow_elements.append(child)
            elif local == "extensionElements":
                extensions = self._process_extensions(child)
            elif local not in IGNORED_IN_PROCESS:
                self._unsupported(child)
        self._defaults(defaults, flows)
        body: dict[str, Any] = {"schema": "xietong.process/1"}
        if process.get("name"):
            body["name"] = process.get("name")
        self._positions(nodes, flows, shapes)
        body |= {"nodes": nodes, "flows": flows}
        if extensions:
            body["extensions"] = extensions
        return body

    def _identified(self, element: Element, what: str) -> str | None:
        ident = element.get("id")
        if not ident:
            self.report(element, f"{what}缺少 id 属性", "bpmn_missing_id")
            return None
        if not _ID.match(ident):
            self.report(
                element,
                f"{what}标识不符合要求（以字母或下划线开头，只含字母、数字、_ 和 -，最长 64 个字符）",
                "bpmn_bad_id",
            )
            return None
        return ident

    def _node(self, element: Element, kind: str) -> dict[str, Any] | None:
        ident = self._identified(element, "节点")
        node: dict[str, Any] = {"id": ident or "", "type": kind}
        if element.get("name"):
            node["name"] = element.get("name")
        for child in element:
            namespace, local = split(child.tag)
            if namespace != BPMN or local in IGNORED_IN_NODE:
                continue
            if kind == "user_task" and local in TASK_CHILDREN:
                continue
            self._unsupported(child, element)
        if kind == "user_task":
            self._task(element, node)
        self._limit(element, node)
        return node if ident else None

    def _limit(self, element: Element, node: dict[str, Any]) -> None:
        limit = element.find(f"{q(BPMN, 'extensionElements')}/{q(XT, 'limit')}")
        if limit is not None:
            try:
                node["limit_days"] = int(limit.get("days", ""))
            except ValueError:
                self.report(element, "办理时限（xt:limit days）必须是整数个工作日", "bpmn_bad_limit", at=limit)

    def _task(self, element: Element, node: dict[str, Any]) -> None:
        extras = element.find(q(BPMN, "extensionElements"))
        xt_assign = extras.find(q(XT, "assign")) if extras is not None else None
        try:
            assign = self._xt_assign(xt_assign) if xt_assign is not None else self._foreign_assign(element, extras)
        except foreign.Unmappable as exc:
            self.report(element, str(exc), "bpmn_assignment")
            assign = {}
        if assign:
            node["assign"] = assign
        elif assign is None:
            self.report(
                element,
                "没有设置办理人：请用 xt:assign，或 camunda:/flowable: 的 candidateGroups（岗位）、assignee 与 "
                "candidateUsers（人员编号），或 BPMN 的 potentialOwner",
                "bpmn_unassigned",
            )
        loop = element.find(q(BPMN, "multiInstanceLoopCharacteristics"))
        if loop is not None:
            self._multi(element, loop, extras, node)

    def _xt_assign(self, rule: Element) -> dict[str, Any]:
        assign: dict[str, Any] = {k: v for k, v in rule.attrib.items() if not k.startswith("{")}
        units = [dict(u.attrib) for u in rule.findall(q(XT, "unit"))]
        people = [p.get("code", "") for p in rule.findall(q(XT, "person"))]
        if assign.get("rule") == "posts":
            assign["units"] = units
        elif units:
            if len(units) > 1:
                raise foreign.Unmappable('xt:assign 只能有一个 xt:unit（多个单位请用 rule="posts"）')
            assign["unit"] = units[0]
        if people:
            assign["people"] = people
        return assign

    def _foreign_assign(self, element: Element, extras: Element | None) -> dict[str, Any] | None:
        people: list[str] = []
        groups: list[str] = []
        holders = [(element, namespace) for namespace in ASSIGNEE_NAMESPACES]
        if extras is not None:  # Camunda 8 writes unqualified attributes on zeebe:assignmentDefinition
            holders += [(definition, "") for definition in extras.findall(q(ZEEBE, "assignmentDefinition"))]
        for holder, namespace in holders:
            people += _listed(holder, namespace, "assignee") + _listed(holder, namespace, "candidateUsers")
            groups += _listed(holder, namespace, "candidateGroups")
        for role in (*element.findall(q(BPMN, "potentialOwner")), *element.findall(q(BPMN, "humanPerformer"))):
            expression = role.find(f"{q(BPMN, 'resourceAssignmentExpression')}/{q(BPMN, 'formalExpression')}")
            if expression is not None and expression.text:
                found_people, found_groups = foreign.resource_expression(expression.text)
                people, groups = people + found_people, groups + found_groups
        if not people and not groups:
            return None
        return foreign.assignment(list(dict.fromkeys(people)), list(dict.fromkeys(groups)))

    def _multi(self, task: Element, loop: Element, extras: Element | None, node: dict[str, Any]) -> None:
        xt_multi = extras.find(q(XT, "multi")) if extras is not None else None
        multi: dict[str, Any]
        if xt_multi is not None:
            multi = {"mode": xt_multi.get("mode", "")}
            if xt_multi.get("ratio") is not None:
                try:
                    multi["ratio"] = float(xt_multi.get("ratio", ""))
                except ValueError:
                    self.report(task, "会签比例（xt:multi ratio）必须是数字", "bpmn_bad_ratio", at=xt_multi)
        else:
            condition = loop.find(q(BPMN, "completionCondition"))
            try:
                multi = foreign.completion(condition.text if condition is not None else None)
            except foreign.Unmappable as exc:
                self.report(task, str(exc), "bpmn_completion", at=condition if condition is not None else loop)
                return
        multi["order"] = "sequential" if loop.get("isSequential", "false").strip() == "true" else "parallel"
        node["multi"] = multi

    def _flow(self, element: Element, known_ids: set[str]) -> dict[str, Any] | None:
        ident = self._identified(element, "连线")
        source, target = element.get("sourceRef"), element.get("targetRef")
        for end, ref in (("sourceRef", source), ("targetRef", target)):
            if not ref:
                self.report(element, f"连线缺少 {end}", "bpmn_flow_end")
            elif ref not in known_ids:
                self.report(element, f"连线的 {end} 指向不存在的元素：{ref}", "bpmn_flow_dangling")
        if not (ident and source and target):
            return None
        flow: dict[str, Any] = {"id": ident, "from": source, "to": target}
        if element.get("name"):
            flow["name"] = element.get("name")
        if element.get(q(XT, "default")) == "true":
            flow["default"] = True
        expression = element.find(q(BPMN, "conditionExpression"))
        if expression is not None and (expression.text or "").strip():  # an empty condition is no condition
            try:
                flow["condition"] = foreign.condition(expression.text or "", expression.get("language"))
            except foreign.Unmappable as exc:
                self.report(element, str(exc), "bpmn_condition", at=expression)
        return flow

    def _defaults(self, defaults: dict[str, tuple[str, Element]], flows: list[dict[str, Any]]) -> None:
        for flow_id, (gateway_id, gateway) in defaults.items():
            flow = next((f for f in flows if f["id"] == flow_id), None)
            if flow is None or flow["from"] != gateway_id:
                self.report(gateway, f"默认出线 {flow_id} 不是该网关的出线", "bpmn_bad_default")
            else:
                flow["default"] = True

    def _process_extensions(self, extras: Element) -> dict[str, Any]:
        element = extras.find(q(XT, "extensions"))
        if element is None or not (element.text or "").strip():
            return {}
        try:
            value = json.loads(element.text or "")
        except ValueError:
            value = None
        if not isinstance(value, dict):
            self.report(self.process or element, "xt:extensions 必须是 JSON 对象", "bpmn_bad_extensions", at=element)
            return {}
        return value

    def _positions(self, nodes: list[dict[str, Any]], flows: list[dict[str, Any]], shapes: dict[str, Element]) -> None:
        auto = auto_positions(nodes, flows)
        for node in nodes:
            shape = shapes.get(node["id"])
            bounds = shape.find(q(DC, "Bounds")) if shape is not None else None
            if shape is None or bounds is None:
                continue
            try:
                x, y = float(bounds.get("x", "")), float(bounds.get("y", ""))
            except ValueError:
                continue
            laid_out = auto.get(node["id"])
            if shape.get(q(XT, "auto")) == "true" and laid_out is not None and (x, y) == (laid_out.x, laid_out.y):
                continue  # the exporter placed it and nobody moved it: the body had no position
            node["x"], node["y"] = _plain(x), _plain(y)


def _listed(element: Element, namespace: str, local: str) -> list[str]:
    """A comma-separated attribute (``camunda:candidateUsers="a, b"``) as a list."""
    return foreign.split_list(element.get(q(namespace, local) if namespace else local))


def _plain(value: float) -> float | int:
    return int(value) if value.is_integer() else value
