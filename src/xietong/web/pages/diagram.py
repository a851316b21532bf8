"""The process diagram of a case as server-rendered SVG (in place of bpmn-js): the definition laid out by the
engine's own BPMN layout, each step marked done, current or pending from the case's step results and open
tasks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from xietong.engine.bpmn.layout import Box, auto_positions, waypoints

MARGIN = 20
STATE_LABELS = {"done": "已办", "current": "在办", "pending": "未办"}


@dataclass(frozen=True)
class Shape:
    id: str
    kind: str
    name: str
    state: str  # done | current | pending
    box: Box


@dataclass(frozen=True)
class Diagram:
    width: float
    height: float
    shapes: list[Shape]
    edges: list[str]  # SVG path data, already shifted into the view box


def diagram(process: dict[str, Any], *, done: Iterable[str], current: Iterable[str]) -> Diagram:
    nodes, flows = process.get("nodes", []), process.get("flows", [])
    boxes = auto_positions(nodes, flows)
    if not boxes:
        return Diagram(0, 0, [], [])
    left = min(b.x for b in boxes.values()) - MARGIN
    top = min(b.y for b in boxes.values()) - MARGIN
    bottom = max(b.y + b.height for b in boxes.values())
    shifted = {k: Box(b.x - left, b.y - top, b.width, b.height) for k, b in boxes.items()}
    done_ids, current_ids = set(done), set(current)
    shapes = [
        Shape(str(n["id"]), str(n.get("type", "user_task")), str(n.get("name") or n["id"]),
              "current" if n["id"] in current_ids else "done" if n["id"] in done_ids else "pending",
              shifted[str(n["id"])])
        for n in nodes
    ]
    edges = []
    for flow in flows:
        if flow.get("from") in shifted and flow.get("to") in shifted:
            points = waypoints(shifted[flow["from"]], shifted[flow["to"]], bottom - top)
            edges.append("M " + " L ".join(f"{x:.0f} {y:.0f}" for x, y in points))
    width = max(b.x + b.width for b in shifted.values()) + MARGIN
    height = bottom - top + 60 + MARGIN  # room for the back edges routed below everything
    return Diagram(width, height, shapes, edges)
