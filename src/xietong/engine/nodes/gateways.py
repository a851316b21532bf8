"""Exclusive gateways (first true condition, else the default flow) and parallel split/join.

A split opens a ``parallel`` scope expecting one arrival per branch and one ``branch`` scope per
outgoing flow; the join counts arrivals on that one scope row, so an earlier activation of the same
block (cancelled by a return) can never be counted.
"""

from __future__ import annotations

from typing import Any

from xietong.engine.definition import Flow, Node
from xietong.engine.errors import RoutingError
from xietong.engine.expressions import ExpressionError, evaluate_condition
from xietong.engine.state import Run, ScopeRow


def choose_flow(run: Run, node: Node, approved: bool | None) -> Flow:
    variables: dict[str, Any] = {"form": run.case.form, "approved": bool(approved), "steps": run.case.step_results}
    default = None
    for flow in node.outgoing:
        if flow.default:
            default = flow
            continue
        assert flow.condition is not None  # checked when the definition was compiled
        try:
            if evaluate_condition(flow.condition, variables):
                return flow
        except ExpressionError as exc:
            raise RoutingError(code="condition_failed", detail=f"网关“{node.name}”：{exc}") from exc
    if default is None:
        raise RoutingError(code="no_route", detail=f"网关“{node.name}”没有满足条件的出线")
    return default


def split(run: Run, node: Node, scope: ScopeRow) -> list[tuple[Flow, ScopeRow]]:
    block = run.open_scope("parallel", node.id, scope, expected=len(node.outgoing))
    return [
        (flow, run.open_scope("branch", node.id, block, data={"index": index}))
        for index, flow in enumerate(node.outgoing)
    ]


def arrive(run: Run, node: Node, branch: ScopeRow, approved: bool | None) -> tuple[ScopeRow, bool] | None:
    """Record a branch's arrival at its join; (outer scope, all approved) when the last one arrives."""
    block = branch.parent
    if branch.kind != "branch" or block is None or block.node_id != node.split:
        raise RoutingError(code="join_mismatch", detail=f"汇聚网关“{node.name}”收到了不属于本并行块的到达")
    branch.state, branch.outcome, branch.data = "completed", _outcome(approved), {**branch.data}
    run.touch(branch)
    block.arrived += 1
    if approved:
        block.approved_count += 1
    else:
        block.denied_count += 1
    run.touch(block)
    if block.arrived < block.expected:
        return None
    all_approved = block.denied_count == 0
    block.state, block.outcome = "completed", _outcome(all_approved)
    assert block.parent is not None
    return block.parent, all_approved


def _outcome(approved: bool | None) -> str:
    return "approve" if approved else "deny"
