"""Compile a process definition into an immutable graph the transitions walk, naming every problem.

Parallel blocks must be well nested: each split is paired with the join where all its branches
meet, and every node belongs to exactly one block path (a tuple of (split id, branch index)).
That path is what lets a return cancel exactly the branches it leaves.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from xietong.engine.errors import ProcessDefinitionError
from xietong.engine.expressions import ExpressionError, compile_condition
from xietong.engine.schema import AssignRule, FlowSpec, MultiSpec, NodeSpec, PostsRule, ProcessSpec
from xietong.errors import FieldProblem

BlockPath = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Flow:
    id: str
    source: str
    target: str
    condition: str | None
    default: bool


@dataclass(frozen=True)
class Node:
    id: str
    type: str
    name: str
    outgoing: tuple[Flow, ...]
    incoming: int
    assign: AssignRule | None
    multi: MultiSpec | None
    limit_days: int | None
    path: BlockPath = ()
    join: str | None = None  # for a parallel split: its paired join
    split: str | None = None  # for a parallel join: its paired split

    @property
    def is_split(self) -> bool:
        return self.type == "parallel" and len(self.outgoing) > 1

    @property
    def is_join(self) -> bool:
        return self.type == "parallel" and self.incoming > 1


@dataclass(frozen=True)
class CompiledProcess:
    digest: str
    name: str
    start: str
    nodes: Mapping[str, Node]

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]

    def user_tasks(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.type == "user_task"]


def canonical_json(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def definition_digest(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def compile_process(body: Mapping[str, Any]) -> CompiledProcess:
    """Validate and compile ``body``; raises ProcessDefinitionError listing every problem."""
    return _compile_cached(canonical_json(body))


@lru_cache(maxsize=2048)
def _compile_cached(text: str) -> CompiledProcess:
    body = json.loads(text)
    try:
        spec = ProcessSpec.model_validate(body)
    except ValidationError as exc:
        raise ProcessDefinitionError.of(_pydantic_problems(exc)) from None
    problems: list[FieldProblem] = []
    nodes = _build_nodes(spec, problems)
    if not problems:
        _check_graph(nodes, problems)
    if not problems:
        nodes = _pair_blocks(nodes, problems)
    if problems:
        raise ProcessDefinitionError.of(problems)
    start = next(n.id for n in nodes.values() if n.type == "start")
    return CompiledProcess(digest=hashlib.sha256(text.encode()).hexdigest(), name=spec.name, start=start, nodes=nodes)


def _pydantic_problems(exc: ValidationError) -> list[FieldProblem]:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        problems.append(FieldProblem(field=where, message=f"{where}：{_pydantic_message(err)}", code=err["type"]))
    return problems


def _pydantic_message(err: Mapping[str, Any]) -> str:
    messages = {
        "missing": "缺少必填项",
        "extra_forbidden": "不支持的属性",
        "literal_error": "取值不在允许范围内",
        "string_pattern_mismatch": "格式不正确",
        "union_tag_invalid": "类型不受支持",
        "union_tag_not_found": "缺少类型标识",
        "too_short": "数量不足",
        "too_long": "数量或长度超出上限",
    }
    return messages.get(err["type"], f"取值无效（{err['msg']}）")


def _build_nodes(spec: ProcessSpec, problems: list[FieldProblem]) -> dict[str, Node]:
    specs: dict[str, NodeSpec] = {}
    for i, node in enumerate(spec.nodes):
        if node.id in specs:
            problems.append(FieldProblem(f"nodes[{i}].id", f"节点标识重复：{node.id}", "duplicate_node"))
        specs[node.id] = node
    outgoing: dict[str, list[Flow]] = {nid: [] for nid in specs}
    incoming: dict[str, int] = dict.fromkeys(specs, 0)
    flow_ids: set[str] = set()
    for i, flow in enumerate(spec.flows):
        _check_flow(i, flow, specs, flow_ids, problems)
        if flow.source in specs and flow.target in specs:
            outgoing[flow.source].append(Flow(flow.id, flow.source, flow.target, flow.condition, flow.default))
            incoming[flow.target] += 1
    for i, node in enumerate(spec.nodes):
        _check_node(i, node, len(outgoing[node.id]), incoming[node.id], problems)
    return {
        nid: Node(
            id=nid,
            type=s.type,
            name=s.name or nid,
            outgoing=tuple(outgoing[nid]),
            incoming=incoming[nid],
            assign=s.assign,
            multi=s.multi,
            limit_days=s.limit_days,
        )
        for nid, s in specs.items()
    }


def _check_flow(
    i: int, flow: FlowSpec, specs: Mapping[str, NodeSpec], seen: set[str], problems: list[FieldProblem]
) -> None:
    where = f"flows[{i}]"
    if flow.id in seen:
        problems.append(FieldProblem(f"{where}.id", f"连线标识重复：{flow.id}", "duplicate_flow"))
    seen.add(flow.id)
    for end, node_id in (("from", flow.source), ("to", flow.target)):
        if node_id not in specs:
            problems.append(
                FieldProblem(f"{where}.{end}", f"连线 {flow.id} 指向不存在的节点：{node_id}", "unknown_node")
            )
    if flow.condition is not None:
        source = specs.get(flow.source)
        if source is not None and source.type != "exclusive":
            problems.append(
                FieldProblem(f"{where}.condition", f"只有排他网关的出线可以带条件：{flow.id}", "condition_not_allowed")
            )
        try:
            compile_condition(flow.condition)
        except ExpressionError as exc:
            problems.append(FieldProblem(f"{where}.condition", str(exc), "bad_condition"))


def _check_node(i: int, node: NodeSpec, n_out: int, n_in: int, problems: list[FieldProblem]) -> None:
    where, label = f"nodes[{i}]", f"节点“{node.name or node.id}”"

    def problem(message: str, code: str) -> None:
        problems.append(FieldProblem(where, f"{label}{message}", code))

    if node.type == "start" and (n_out != 1 or n_in != 0):
        problem("：开始节点必须恰有一条出线且没有入线", "bad_start")
    if node.type == "end" and n_out != 0:
        problem("：结束节点不能有出线", "bad_end")
    if node.type == "user_task":
        if n_out != 1:
            problem("：办理环节必须恰有一条出线（分支请用网关）", "bad_user_task")
        if node.assign is None:
            problem("没有设置办理人", "unassigned_task")
        elif isinstance(node.assign, PostsRule) and node.multi is None:
            problem("：多单位分派只能用于会签或或签环节", "posts_without_multi")
        if node.multi is not None and node.multi.mode == "ratio" and node.multi.ratio is None:
            problem("：按比例会签必须设置通过比例", "ratio_missing")
    elif node.assign is not None or node.multi is not None:
        problem("：只有办理环节可以设置办理人或会签", "assign_not_allowed")
    if node.type in ("exclusive", "parallel") and n_out == 0:
        problem("没有出线", "dead_end")
    if node.type == "parallel" and n_out > 1 and n_in > 1:
        problem("：并行网关不能同时分支和汇聚", "split_and_join")


def _check_graph(nodes: Mapping[str, Node], problems: list[FieldProblem]) -> None:
    starts = [n for n in nodes.values() if n.type == "start"]
    if len(starts) != 1:
        problems.append(FieldProblem("nodes", f"流程必须恰有一个开始节点（现有 {len(starts)} 个）", "start_count"))
        return
    for node in nodes.values():
        if node.type == "exclusive":
            defaults = [f for f in node.outgoing if f.default]
            if len(defaults) != 1:
                problems.append(
                    FieldProblem(f"nodes.{node.id}", f"排他网关“{node.name}”必须恰有一条默认出线", "gateway_default")
                )
            for flow in node.outgoing:
                if not flow.default and not flow.condition:
                    problems.append(
                        FieldProblem(
                            f"flows.{flow.id}", f"排他网关“{node.name}”的出线 {flow.id} 缺少条件", "condition_missing"
                        )
                    )
    reachable = _reachable(nodes, starts[0].id)
    for node in nodes.values():
        if node.id not in reachable:
            problems.append(FieldProblem(f"nodes.{node.id}", f"节点“{node.name}”从开始节点不可达", "unreachable"))
    ends = {n.id for n in nodes.values() if n.type == "end"}
    reaching_end = _reaching(nodes, ends)
    for node in nodes.values():
        if node.id in reachable and node.id not in reaching_end:
            problems.append(FieldProblem(f"nodes.{node.id}", f"节点“{node.name}”之后没有通向结束的路径", "no_end"))


def _reachable(nodes: Mapping[str, Node], start: str) -> set[str]:
    seen, stack = {start}, [start]
    while stack:
        for flow in nodes[stack.pop()].outgoing:
            if flow.target not in seen:
                seen.add(flow.target)
                stack.append(flow.target)
    return seen


def _reaching(nodes: Mapping[str, Node], targets: set[str]) -> set[str]:
    incoming: dict[str, list[str]] = {nid: [] for nid in nodes}
    for node in nodes.values():
        for flow in node.outgoing:
            incoming[flow.target].append(node.id)
    seen, stack = set(targets), list(targets)
    while stack:
        for source in incoming[stack.pop()]:
            if source not in seen:
                seen.add(source)
                stack.append(source)
    return seen


def _pair_blocks(nodes: dict[str, Node], problems: list[FieldProblem]) -> dict[str, Node]:
    """Give every node its block path and pair splits with joins; report ill-nested blocks."""
    paths: dict[str, BlockPath] = {}
    joins: dict[str, str] = {}
    start = next(n.id for n in nodes.values() if n.type == "start")
    stack: list[tuple[str, BlockPath]] = [(start, ())]
    while stack:
        node_id, path = stack.pop()
        node = nodes[node_id]
        if node.is_join:
            if not path:
                problems.append(
                    FieldProblem(f"nodes.{node_id}", f"汇聚网关“{node.name}”没有对应的并行分支", "join_unpaired")
                )
                return nodes
            split_id = path[-1][0]
            if joins.setdefault(split_id, node_id) != node_id:
                problems.append(
                    FieldProblem(
                        f"nodes.{split_id}",
                        f"并行网关“{nodes[split_id].name}”的分支汇聚到了不同的网关",
                        "split_unpaired",
                    )
                )
                return nodes
            path = path[:-1]
        if node_id in paths:
            if paths[node_id] != path:
                problems.append(
                    FieldProblem(
                        f"nodes.{node_id}",
                        f"节点“{node.name}”跨越了并行分支的边界（并行分支必须在汇聚网关汇合，退回请使用退回操作）",
                        "block_crossing",
                    )
                )
                return nodes
            continue
        paths[node_id] = path
        for index, flow in enumerate(node.outgoing):
            child = (*path, (node_id, index)) if node.is_split else path
            if nodes[flow.target].type == "end" and child != () and not nodes[flow.target].is_join:
                problems.append(FieldProblem(f"flows.{flow.id}", f"并行分支内不能直接结束：{flow.id}", "end_in_block"))
                return nodes
            stack.append((flow.target, child))
    for split_id in (n.id for n in nodes.values() if n.is_split):
        if split_id not in joins:
            problems.append(
                FieldProblem(f"nodes.{split_id}", f"并行网关“{nodes[split_id].name}”的分支没有汇聚", "split_unpaired")
            )
    if problems:
        return nodes
    split_of = {join: split for split, join in joins.items()}
    return {
        nid: Node(**{**node.__dict__, "path": paths.get(nid, ()), "join": joins.get(nid), "split": split_of.get(nid)})
        for nid, node in nodes.items()
    }
