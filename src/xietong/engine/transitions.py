"""Transitions: plain functions that move a case's tokens and record the rows to write in a ``Run``.

Callers hold the case row lock for the whole operation (see docs/concurrency.md), so reading a
scope's counters and writing them back cannot race another operation on the same case.
"""

from __future__ import annotations

from xietong.engine.definition import Node
from xietong.engine.errors import RoutingError
from xietong.engine.nodes import gateways, user_task
from xietong.engine.state import Run, ScopeRow, TaskRow

# A definition may loop (return to review until approved), but never without a user task between.
MAX_AUTOMATIC_STEPS = 1000


def start_process(run: Run) -> ScopeRow:
    """Open the case's process scope and run from the start node to the first user tasks."""
    if run.case.process_state != "not_started":
        raise RoutingError(code="process_started", detail="流程已经启动")
    root = run.open_scope("process", run.process.start, None)
    run.case.process_state = "running"
    _leave(run, run.process.node(run.process.start), root, approved=True, budget=[MAX_AUTOMATIC_STEPS])
    return root


def complete_task(run: Run, task: TaskRow, *, approved: bool) -> None:
    """Record a decision on an open task (already closed by the caller) and move the case on."""
    node = run.process.node(task.node_id)
    scope = task.scope if task.scope is not None else run.scope_by_id(_scope_id(task))
    run.case.step_results[node.id] = {"approved": approved, "outcome": "approve" if approved else "deny"}
    if scope.kind != "multi":
        _leave(run, node, scope, approved, [MAX_AUTOMATIC_STEPS])
        return
    decided = user_task.record_sign(run, task, scope, approved)
    if decided is not None:
        finish_multi(run, scope, decided, exclude=task)


def finish_multi(run: Run, multi: ScopeRow, decided: bool, exclude: TaskRow | None = None) -> None:
    """Close a decided 会签/或签 step (cancelling signers who no longer need to act) and move on."""
    node = run.process.node(multi.node_id)
    _close_multi(run, multi, decided, exclude=exclude)
    run.case.step_results[node.id] = {
        "approved": decided,
        "outcome": "approve" if decided else "deny",
        "approved_count": multi.approved_count,
        "denied_count": multi.denied_count,
    }
    assert multi.parent is not None
    _leave(run, node, multi.parent, decided, [MAX_AUTOMATIC_STEPS])


def _scope_id(task: TaskRow) -> int:
    if task.scope_id is None:
        raise RoutingError(code="task_without_scope", detail="待办缺少执行范围")
    return task.scope_id


def _close_multi(run: Run, multi: ScopeRow, approved: bool, exclude: TaskRow | None) -> None:
    multi.state, multi.outcome = "completed", "approve" if approved else "deny"
    run.touch(multi)
    if multi.arrived < multi.expected and multi.data.get("order") != "sequential":
        assert multi.id is not None
        for other in run.loader.open_tasks(multi.id):
            if exclude is None or other.id != exclude.id:
                run.close_task(other, "cancelled")


def _leave(run: Run, node: Node, scope: ScopeRow, approved: bool, budget: list[int]) -> None:
    """Follow the outgoing flow(s) of ``node`` from within ``scope``."""
    if node.is_split:
        for flow, branch in gateways.split(run, node, scope):
            _enter(run, run.process.node(flow.target), branch, approved, budget)
        return
    flow = gateways.choose_flow(run, node, approved) if node.type == "exclusive" else node.outgoing[0]
    _enter(run, run.process.node(flow.target), scope, approved, budget)


def leave(run: Run, node: Node, scope: ScopeRow, approved: bool, budget: list[int]) -> None:
    """Follow the outgoing flow(s) of ``node`` from within ``scope`` (for re-entry after a return)."""
    _leave(run, node, scope, approved, budget)


def _enter(run: Run, node: Node, scope: ScopeRow, approved: bool, budget: list[int]) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise RoutingError(code="endless_loop", detail="流程在网关之间无限循环，请检查条件")
    if node.type == "user_task" and node.id in _skipped(run):
        # 办理情形: the answers given at submission leave this step out; it counts as passed, opens no task.
        run.case.step_results[node.id] = {"approved": True, "outcome": "skipped"}
        _leave(run, node, scope, approved, budget)
    elif node.type == "user_task":
        user_task.enter(run, node, scope)
    elif node.type == "end":
        _finish(run, scope)
    elif node.is_join:
        arrival = gateways.arrive(run, node, scope, approved)
        if arrival is not None:
            outer, all_approved = arrival
            run.case.step_results[node.id] = {
                "approved": all_approved,
                "outcome": "approve" if all_approved else "deny",
            }
            _leave(run, node, outer, all_approved, budget)
    else:  # exclusive gateway or pass-through parallel gateway
        _leave(run, node, scope, approved, budget)


def _skipped(run: Run) -> list[str]:
    """The steps the case's form marks as skipped (``_situation.skipped``, written at submission)."""
    kept = run.case.form.get("_situation")
    return list(kept.get("skipped", ())) if isinstance(kept, dict) else []


def _finish(run: Run, scope: ScopeRow) -> None:
    if scope.kind != "process":
        raise RoutingError(code="end_in_block", detail="并行分支内不能结束流程")
    scope.state, scope.outcome = "completed", "end"
    run.touch(scope)
    run.case.process_state = "finished"
    run.finished = True
