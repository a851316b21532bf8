"""Reading the unit lineage: where a retired unit's work went, for statistics folded by successor."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.directory.models import UnitLineage


def successor_map(session: Session) -> dict[int, int]:
    """Each merged-away unit → the unit that carries its work today (a chain of merges followed to its end).

    Splits are left out: a split unit's past cannot be shared between its successors exactly, so its figures
    stay its own. Renames keep the unit's id and need no mapping.
    """
    edges = dict(session.execute(
        select(UnitLineage.predecessor_id, UnitLineage.successor_id).where(UnitLineage.kind == "merge")
        .order_by(UnitLineage.id)).all())
    final = {}
    for start in edges:
        unit, seen = start, {start}
        while unit in edges and edges[unit] not in seen:
            unit = edges[unit]
            seen.add(unit)
        final[start] = unit
    return final
