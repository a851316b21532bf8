"""退回 and re-entry: move a case's execution back to an earlier step, cancelling exactly what it leaves.

A node's block path (``Node.path``: the (split, branch index) pairs that enclose it) says which
parallel branches it lives in. Returning from a task to a target keeps the deepest active scope the
two share — the branch both are in, or the process — cancels every scope and open task below it, and
enters the target there. Where the target sits inside blocks the kept scope is not in (a return from
after a join into one review branch), each missing level is re-opened as a parallel scope expecting one
arrival, so the join fires when that branch arrives again and no join ever waits for a branch that will
not come. Other branches of a kept block go on untouched.
"""

from __future__ import annotations

from xietong.engine.definition import Node
from xietong.engine.errors import RoutingError
from xietong.engine.nodes import user_task
from xietong.engine.state import Run, ScopeRow, Slot, TaskRow
from xietong.engine.transitions import MAX_AUTOMATIC_STEPS, leave


def return_to(run: Run, task: TaskRow, target: str) -> list[TaskRow]:
    """Send the case from ``task`` back to user task ``target``; returns the tasks it cancelled."""
    node = _user_task(run, target)
    current = run.scope_by_id(_scope_id(task))
    keep = _kept_scope(current, node.path)
    cancelled = cancel_below(run, keep)
    enter_at(run, target, keep)
    return cancelled


def preview_return(run: Run, task: TaskRow, target: str) -> list[TaskRow]:
    """The open tasks a return from ``task`` to ``target`` would cancel (nothing is changed)."""
    node = _user_task(run, target)
    return open_tasks_below(run, _kept_scope(run.scope_by_id(_scope_id(task)), node.path))


def open_tasks_below(run: Run, keep: ScopeRow) -> list[TaskRow]:
    """The open tasks of ``keep`` and of every active scope beneath it."""
    return [t for scope in _subtree(run, keep) for t in run.loader.open_tasks(_id(scope))]


def cancel_all(run: Run) -> list[TaskRow]:
    """Cancel every open task and every scope below the process scope (a return to the applicant)."""
    return cancel_below(run, process_scope(run))


def enter_at(run: Run, target: str, scope: ScopeRow) -> None:
    """Enter user task ``target`` from ``scope``, re-opening the blocks between them with one branch each."""
    node = _user_task(run, target)
    depth = _depth(scope)
    for split_id, index in node.path[depth:]:
        block = run.open_scope("parallel", split_id, scope, expected=1, data={"reentered_branch": index})
        scope = run.open_scope("branch", split_id, block, data={"index": index})
    user_task.enter(run, node, scope)


def reopen(run: Run, task: TaskRow | None) -> bool:
    """Open ``task``'s step again for the same person in the same scope, if that scope is still active."""
    if task is None or task.scope_id is None:
        return False
    scope = run.active_scopes().get(task.scope_id)
    if scope is None or task.node_id not in run.process.nodes:
        return False
    slot = Slot(task.slot.unit_id, task.slot.post_id, task.slot.person_id, task.slot.acting_for_id)
    run.open_task(task.node_id, scope, slot, seq=task.seq)
    return True


def restart(run: Run) -> None:
    """Run again from the start node inside the (kept) process scope: "through the whole chain again"."""
    leave(run, run.process.node(run.process.start), process_scope(run), True, [MAX_AUTOMATIC_STEPS])


def process_scope(run: Run) -> ScopeRow:
    for scope in run.active_scopes().values():
        if scope.kind == "process":
            return scope
    raise RoutingError(code="process_not_running", detail="流程未在运行，不能退回")


def cancel_below(run: Run, keep: ScopeRow) -> list[TaskRow]:
    """Cancel the open tasks of ``keep`` and of every active scope beneath it, and those scopes."""
    cancelled: list[TaskRow] = []
    for scope in _subtree(run, keep):
        for open_task in run.loader.open_tasks(_id(scope)):
            run.close_task(open_task, "cancelled")
            cancelled.append(open_task)
        if scope is not keep:
            scope.state = "cancelled"
            run.touch(scope)
    return cancelled


def _kept_scope(current: ScopeRow, target_path: tuple[tuple[str, int], ...]) -> ScopeRow:
    """The deepest active scope on ``current``'s chain whose branch path is a prefix of ``target_path``."""
    chain: list[ScopeRow] = []
    scope: ScopeRow | None = current
    while scope is not None:
        chain.append(scope)
        scope = scope.parent
    for candidate in chain:  # innermost first
        if candidate.kind == "process":
            return candidate
        if candidate.kind == "branch":
            path = _branch_path(candidate)
            if target_path[: len(path)] == path:
                return candidate
    raise RoutingError(code="process_not_running", detail="流程未在运行，不能退回")


def _branch_path(branch: ScopeRow) -> tuple[tuple[str, int], ...]:
    path: list[tuple[str, int]] = []
    scope: ScopeRow | None = branch
    while scope is not None:
        if scope.kind == "branch":
            path.append((scope.node_id, int(scope.data["index"])))
        scope = scope.parent
    return tuple(reversed(path))


def _depth(scope: ScopeRow) -> int:
    return 0 if scope.kind == "process" else len(_branch_path(scope))


def _subtree(run: Run, root: ScopeRow) -> list[ScopeRow]:
    """``root`` and its active descendants, parents before children."""
    children: dict[int, list[ScopeRow]] = {}
    for scope in run.active_scopes().values():
        if scope.parent_id is not None and scope.state == "active":
            children.setdefault(scope.parent_id, []).append(scope)
    out, pending = [], [root]
    while pending:
        scope = pending.pop()
        out.append(scope)
        pending.extend(children.get(_id(scope), ()))
    return out


def _user_task(run: Run, node_id: str) -> Node:
    node = run.process.nodes.get(node_id)
    if node is None or node.type != "user_task":
        raise RoutingError(code="bad_return_target", detail=f"流程中没有可退回的环节“{node_id}”")
    return node


def _scope_id(task: TaskRow) -> int:
    if task.scope_id is None:
        raise RoutingError(code="task_without_scope", detail="待办缺少执行范围")
    return task.scope_id


def _id(scope: ScopeRow) -> int:
    assert scope.id is not None
    return scope.id
