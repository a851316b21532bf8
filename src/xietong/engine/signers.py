"""加签 / 减签: change the signers of a running 会签/或签 step and recompute its completion rule.

A multi-instance step's ``multi`` scope keeps its signer list in ``data["signers"]`` (in signing order
for a sequential step; a task's ``seq`` is its signer's index) and the number of signers it waits for in
``expected``. Adding raises ``expected`` and opens tasks where the new signers may act now; removing
cancels the removed signer's open task, lowers ``expected`` and, when everyone left has acted, decides
the step exactly as a last signature would — so nothing stalls on a signer who is gone.
"""

from __future__ import annotations

from typing import Any

from xietong.engine.errors import RoutingError
from xietong.engine.nodes import user_task
from xietong.engine.state import Run, ScopeRow, Slot, TaskRow
from xietong.engine.transitions import finish_multi

POSITIONS = ("parallel", "before", "after")


def add_signers(run: Run, multi: ScopeRow, slots: list[Slot], *, position: str, acting: TaskRow | None) -> None:
    """Add ``slots`` as signers: in parallel, or (sequential steps) just before or after ``acting``'s signer."""
    if position not in POSITIONS:
        raise RoutingError(code="bad_position", detail="加签位置只能是并行、之前或之后")
    signers = list(multi.data["signers"])
    taken = {(s["person_id"], s["unit_id"]) for s in _active(multi)}
    if any((s.person_id, s.unit_id) in taken for s in slots):
        raise RoutingError(code="already_signer", detail="所选人员已经是本环节的会签人")
    sequential = multi.data.get("order") == "sequential"
    if not sequential:
        if position != "parallel":
            raise RoutingError(code="bad_position", detail="并行会签只能并行加签")
        for slot in slots:
            signers.append(slot.as_json())
            run.open_task(multi.node_id, multi, slot, seq=len(signers) - 1)
    else:
        current = multi.arrived  # the index of the signer whose task is open now
        if position == "parallel":
            raise RoutingError(code="bad_position", detail="顺序会签只能在本人之前或之后加签")
        if position == "before":
            if acting is None or acting.seq != current:
                raise RoutingError(code="not_current_signer", detail="只有当前会签人可以在本人之前加签")
            run.close_task(acting, "cancelled")
            signers[current:current] = [s.as_json() for s in slots]
            run.open_task(multi.node_id, multi, slots[0], seq=current)
        else:
            at = (acting.seq if acting is not None else current) + 1
            signers[at:at] = [s.as_json() for s in slots]
    multi.data = {**multi.data, "signers": signers}
    multi.expected += len(slots)
    run.touch(multi)


def remove_signer(run: Run, multi: ScopeRow, person_id: int) -> None:
    """Remove a signer who has not acted; decide the step if everyone left has acted."""
    signers = list(multi.data["signers"])
    removed = set(multi.data.get("removed", ()))
    sequential = multi.data.get("order") == "sequential"
    open_tasks = run.loader.open_tasks(_id(multi))
    if multi.expected - 1 < 1:
        raise RoutingError(code="last_signer", detail="会签环节至少要保留一名会签人")
    if sequential:
        index = next(
            (i for i in range(multi.arrived, len(signers)) if signers[i]["person_id"] == person_id), None
        )
        if index is None:
            raise RoutingError(code="not_pending_signer", detail="该人员不是本环节尚未签署的会签人")
        del signers[index]
        multi.data = {**multi.data, "signers": signers}
        multi.expected -= 1
        run.touch(multi)
        if index == multi.arrived:  # the current signer: their task goes, the next one's opens
            for task in open_tasks:
                run.close_task(task, "cancelled")
            if multi.arrived < multi.expected:
                run.open_task(multi.node_id, multi, Slot(**signers[index]), seq=index)
    else:
        task = next((t for t in open_tasks if _holder(t) == person_id and t.seq not in removed), None)
        if task is None:
            raise RoutingError(code="not_pending_signer", detail="该人员不是本环节尚未签署的会签人")
        run.close_task(task, "cancelled")
        multi.data = {**multi.data, "removed": sorted(removed | {task.seq})}
        multi.expected -= 1
        run.touch(multi)
    decided = user_task.decision(multi) if multi.arrived >= 1 else None  # no one has signed: nothing to decide
    if decided is not None:
        finish_multi(run, multi, decided)


def _active(multi: ScopeRow) -> list[dict[str, Any]]:
    removed = set(multi.data.get("removed", ()))
    return [s for i, s in enumerate(multi.data["signers"]) if i not in removed]


def _holder(task: TaskRow) -> int | None:
    return task.slot.person_id


def _id(scope: ScopeRow) -> int:
    assert scope.id is not None
    return scope.id
