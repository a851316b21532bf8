"""Implementing units of raw rows, found in the directory by USCC or unit code (function for grouping, unit
and region for writing)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from xietong.catalog.dedup.rows import RawRow
from xietong.directory.models import Region, Unit
from xietong.errors import FieldProblem


def resolve_units(session: Session, rows: Sequence[RawRow]) -> tuple[dict[int, Unit], list[FieldProblem]]:
    """Each row's active unit in its region (by row number), and a problem for every row that has none."""
    usccs = {row.uscc for row in rows if row.uscc}
    codes = {row.unit_code for row in rows if row.unit_code}
    found = list(session.scalars(select(Unit).where(or_(Unit.uscc.in_(usccs), Unit.code.in_(codes)))))
    by_uscc = {unit.uscc: unit for unit in found if unit.uscc}
    by_code = {unit.code: unit for unit in found}
    regions = {code: region_id for code, region_id in session.execute(select(Region.code, Region.id))}
    units: dict[int, Unit] = {}
    problems: list[FieldProblem] = []
    for row in rows:
        unit, message = _unit_of(row, by_uscc, by_code, regions)
        if message is not None:
            problems.append(FieldProblem(field=f"第 {row.number} 行", message=message, code="dedup_unit"))
        elif unit is not None:
            units[row.number] = unit
    return units, problems


def with_units(session: Session, rows: Sequence[RawRow]) -> list[RawRow]:
    """The rows with their units' function and short name where the directory knows the unit (others unchanged)."""
    units, _ = resolve_units(session, rows)
    return [
        row.with_unit(units[row.number].function, units[row.number].short_name) if row.number in units else row
        for row in rows
    ]


def _unit_of(
    row: RawRow, by_uscc: dict[str, Unit], by_code: dict[str, Unit], regions: dict[str, int]
) -> tuple[Unit | None, str | None]:
    label = f"实施主体“{row.unit_name}”"
    from_uscc = by_uscc.get(row.uscc) if row.uscc else None
    from_code = by_code.get(row.unit_code) if row.unit_code else None
    if row.uscc and row.unit_code and from_uscc is not None and from_code is not None and from_uscc is not from_code:
        return None, f"{label}的统一社会信用代码与实施主体编码指向不同单位"
    unit = from_uscc or from_code
    if unit is None:
        return None, f"{label}（{row.uscc or row.unit_code}）在单位库中不存在"
    if not unit.active:
        return None, f"{label}（{unit.code}）已停用"
    region_id = regions.get(row.region_code)
    if region_id is None:
        return None, f"行政区划代码 {row.region_code} 不存在"
    if unit.region_id != region_id:
        return None, f"{label}（{unit.code}）不属于行政区划 {row.region_code}"
    return unit, None


def region_names(session: Session) -> list[str]:
    """Full names of the directory's regions, stripped from the front of matter names."""
    return [name for name in session.scalars(select(Region.name)) if name]
