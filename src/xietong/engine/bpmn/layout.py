"""A deterministic left-to-right layered layout for BPMN DI: node bounds and edge waypoints.

Layers are longest paths from the start once back edges (loops such as "return to accept") are set aside;
nodes of one layer stack vertically in the order the definition lists them. Positions are the top-left
corner of a node's bounds, which is also what a node's ``x``/``y`` mean in ``xietong.process/1``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SIZES: dict[str, tuple[float, float]] = {
    "start": (36, 36),
    "end": (36, 36),
    "user_task": (100, 80),
    "exclusive": (50, 50),
    "parallel": (50, 50),
}
COLUMN, ROW, LEFT, TOP = 180, 130, 160, 100


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def cx(self) -> float:
        return self.x + self.width / 2

    @property
    def cy(self) -> float:
        return self.y + self.height / 2


def auto_positions(nodes: Sequence[Mapping[str, Any]], flows: Sequence[Mapping[str, Any]]) -> dict[str, Box]:
    """Bounds for every node as the layered layout places it (ignoring any ``x``/``y`` it has)."""
    ids = [str(n["id"]) for n in nodes]
    kinds = {str(n["id"]): str(n.get("type", "user_task")) for n in nodes}
    edges = [(str(f["from"]), str(f["to"])) for f in flows if f.get("from") in kinds and f.get("to") in kinds]
    forward = _forward_edges(ids, edges, kinds)
    layer = _layers(ids, forward)
    columns: dict[int, list[str]] = {}
    for node_id in ids:
        columns.setdefault(layer[node_id], []).append(node_id)
    boxes: dict[str, Box] = {}
    middle = TOP + (max((len(m) for m in columns.values()), default=1) - 1) / 2 * ROW
    for col, members in columns.items():
        for row, node_id in enumerate(members):
            width, height = SIZES.get(kinds[node_id], SIZES["user_task"])
            cy = middle + (row - (len(members) - 1) / 2) * ROW
            boxes[node_id] = Box(LEFT + col * COLUMN - width / 2, cy - height / 2, width, height)
    return boxes


def _forward_edges(ids: list[str], edges: list[tuple[str, str]], kinds: Mapping[str, str]) -> list[tuple[str, str]]:
    """The edges left once the back edges of a depth-first walk from the start nodes are removed."""
    out: dict[str, list[str]] = {i: [] for i in ids}
    for source, target in edges:
        out[source].append(target)
    roots = [i for i in ids if kinds[i] == "start"] + ids
    state: dict[str, int] = {}  # 1 on the walk's stack, 2 done
    back: set[tuple[str, str]] = set()
    for root in roots:
        if root in state:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            node, i = stack.pop()
            if i < len(out[node]):
                stack.append((node, i + 1))
                child = out[node][i]
                if state.get(child) == 1:
                    back.add((node, child))
                elif child not in state:
                    state[child] = 1
                    stack.append((child, 0))
            else:
                state[node] = 2
    return [e for e in edges if e not in back]


def _layers(ids: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    incoming = dict.fromkeys(ids, 0)
    out: dict[str, list[str]] = {i: [] for i in ids}
    for source, target in edges:
        out[source].append(target)
        incoming[target] += 1
    layer = dict.fromkeys(ids, 0)
    ready = [i for i in ids if incoming[i] == 0]
    while ready:
        node = ready.pop(0)
        for child in out[node]:
            layer[child] = max(layer[child], layer[node] + 1)
            incoming[child] -= 1
            if incoming[child] == 0:
                ready.append(child)
    return layer


def waypoints(source: Box, target: Box, bottom: float) -> list[tuple[float, float]]:
    """An orthogonal route: right side to left side when the target is further right, else below everything."""
    if target.x >= source.x + source.width:
        start, end = (source.x + source.width, source.cy), (target.x, target.cy)
        if start[1] == end[1]:
            return [start, end]
        middle = (start[0] + end[0]) / 2
        return [start, (middle, start[1]), (middle, end[1]), end]
    low = bottom + 40
    return [
        (source.cx, source.y + source.height),
        (source.cx, low),
        (target.cx, low),
        (target.cx, target.y + target.height),
    ]
