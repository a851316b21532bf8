"""The process a row of the matter library stands for: a linear chain of handling-unit posts, and the version's
fee and trips carried in the process body (``extensions["facts"]``, read by ``catalog.reductions``).

Shared by the library's .xlsx exchange (``library_xlsx.py``) and the matter editor's drafts.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from xietong.catalog import reductions

Step = tuple[str, str]  # (name, post code)
# Keyword → post of the handling unit, first match wins; a step matching none goes to the section chief.
DEFAULT_POSTS = (
    ("受理", "clerk"),
    ("审批", "leader_in_charge"),
    ("决定", "leader_in_charge"),
    ("签发", "leader_in_charge"),
    ("审核", "section_chief"),
    ("审查", "section_chief"),
    ("办结", "clerk"),
    ("送达", "clerk"),
)
FALLBACK_POST = "section_chief"


def version_facts(process: Mapping[str, Any]) -> tuple[Decimal, int]:
    """A version's fee in yuan and required trips (0 when absent); the one reading lives in ``reductions``."""
    facts = reductions.version_facts(process)
    return facts.fee_yuan, facts.trips


def user_tasks(process: Mapping[str, Any]) -> list[Step]:
    """Every user task as (name, post), in definition order (post is "" when not a handling-unit post)."""
    steps = []
    for node in process.get("nodes", []):
        if node.get("type") == "user_task":
            assign = node.get("assign") or {}
            own = assign.get("rule") == "post" and assign.get("unit") == {"ref": "handling_unit"}
            steps.append((node.get("name") or node["id"], assign.get("post", "") if own else ""))
    return steps


def linear_steps(process: Mapping[str, Any]) -> list[Step] | None:
    """The steps when the process is exactly what the import builds from them, else None (a 复杂流程)."""
    steps = user_tasks(process)
    if not steps or any(not post for _, post in steps):
        return None
    fee, trips = version_facts(process)
    return steps if linear_process(steps, fee=fee, trips=trips) == process else None


def linear_process(steps: Iterable[Step], *, fee: Decimal, trips: int) -> dict[str, Any]:
    """start → one user task per step, each a shared task of its post in the handling unit → end."""
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "start"}]
    for index, (name, post) in enumerate(steps, start=1):
        assign = {"rule": "post", "unit": {"ref": "handling_unit"}, "post": post}
        nodes.append({"id": f"s{index}", "type": "user_task", "name": name, "assign": assign})
    nodes.append({"id": "end", "type": "end"})
    flows = [{"id": f"f{i}", "from": a["id"], "to": b["id"]} for i, (a, b) in enumerate(itertools.pairwise(nodes), 1)]
    return with_facts({"schema": "xietong.process/1", "nodes": nodes, "flows": flows}, fee=fee, trips=trips)


def with_facts(process: Mapping[str, Any], *, fee: Decimal, trips: int) -> dict[str, Any]:
    """The process body carrying this fee and trip count (the key is left out when both are zero)."""
    extensions = {key: value for key, value in (process.get("extensions") or {}).items() if key != reductions.FACTS_KEY}
    if fee or trips:
        extensions[reductions.FACTS_KEY] = {"fee_yuan": number(fee), "trips": trips}
    body = {key: value for key, value in process.items() if key != "extensions"}
    return {**body, "extensions": extensions} if extensions else body


def default_post(step_name: str) -> str:
    """The post a step named like this is assigned to when the sheet names none (see DEFAULT_POSTS)."""
    return next((post for keyword, post in DEFAULT_POSTS if keyword in step_name), FALLBACK_POST)


def number(value: Decimal) -> int | float:
    """A Decimal as the int or float a spreadsheet cell or JSON holds."""
    return int(value) if value == value.to_integral_value() else float(value)
