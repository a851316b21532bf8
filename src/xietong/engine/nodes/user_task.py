"""User tasks: a single (possibly shared) task, or a multi-instance step — 会签, 或签, ratio.

A multi-instance step opens a ``multi`` scope whose counters decide completion: ``all`` when every
signer has acted (approved iff all approved), ``any`` at the first decision (a denial decides too),
``ratio`` as soon as the approvals reach the ratio or can no longer reach it.
"""

from __future__ import annotations

import math

from xietong.engine.definition import Node
from xietong.engine.errors import RoutingError
from xietong.engine.state import Run, ScopeRow, Slot, TaskRow


def enter(run: Run, node: Node, scope: ScopeRow) -> None:
    slots = run.assigner.slots(node.id, node.assign, run.case, multi=node.multi is not None, now=run.now)
    if not slots:
        raise RoutingError(code="no_assignee", detail=f"环节“{node.name}”找不到办理人，请联系管理员检查岗位设置")
    if node.multi is None:
        run.open_task(node.id, scope, slots[0])
        return
    multi = run.open_scope(
        "multi",
        node.id,
        scope,
        expected=len(slots),
        data={
            "mode": node.multi.mode,
            "order": node.multi.order,
            "ratio": node.multi.ratio,
            "signers": [s.as_json() for s in slots],
        },
    )
    if node.multi.order == "sequential":
        run.open_task(node.id, multi, slots[0], seq=0)
    else:
        for seq, slot in enumerate(slots):
            run.open_task(node.id, multi, slot, seq=seq)


def record_sign(run: Run, task: TaskRow, multi: ScopeRow, approved: bool) -> bool | None:
    """Count one signer's decision; the aggregated result once the step is decided, else None."""
    multi.arrived += 1
    if approved:
        multi.approved_count += 1
    else:
        multi.denied_count += 1
    run.touch(multi)
    decided = decision(multi)
    if decided is None and multi.data.get("order") == "sequential":
        signer = multi.data["signers"][multi.arrived]
        run.open_task(task.node_id, multi, Slot(**signer), seq=multi.arrived)
    return decided


def decision(multi: ScopeRow) -> bool | None:
    mode, expected = multi.data["mode"], multi.expected
    if mode == "any":
        return multi.approved_count > 0
    if mode == "all":
        return multi.denied_count == 0 if multi.arrived >= expected else None
    needed = math.ceil(float(multi.data["ratio"]) * expected - 1e-9)
    if multi.approved_count >= needed:
        return True
    if multi.approved_count + (expected - multi.arrived) < needed:
        return False
    return None
