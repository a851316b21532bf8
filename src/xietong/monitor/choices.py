"""What the dashboard's filters offer: regions, handling units and local matters (the catalogue is public,
so these lists are not scoped; the figures are)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.catalog.models import LocalMatter
from xietong.directory.models import Region, Unit
from xietong.errors import NotFound

MAX_MATTERS = 1000


@dataclass(frozen=True)
class Choice:
    id: int
    name: str


@dataclass(frozen=True)
class Choices:
    regions: list[Choice]
    units: list[Choice]
    matters: list[Choice]


def choices(session: Session, *, region_id: int | None = None, unit_id: int | None = None) -> Choices:
    """Regions; the units that handle a local matter (in the region, if one is chosen); their matters."""
    regions = [Choice(i, n) for i, n in session.execute(select(Region.id, Region.name).order_by(Region.code))]
    handling = select(LocalMatter.handling_unit_id)
    if region_id is not None:
        handling = handling.where(LocalMatter.region_id == region_id)
    units = [Choice(i, n) for i, n in session.execute(
        select(Unit.id, Unit.name).where(Unit.id.in_(handling)).order_by(Unit.code))]
    matters = select(LocalMatter.id, LocalMatter.name).where(LocalMatter.status != "draft")
    if region_id is not None:
        matters = matters.where(LocalMatter.region_id == region_id)
    if unit_id is not None:
        matters = matters.where(LocalMatter.handling_unit_id == unit_id)
    found = [Choice(i, n) for i, n in session.execute(matters.order_by(LocalMatter.code).limit(MAX_MATTERS))]
    return Choices(regions=regions, units=units, matters=found)


def unit_name(session: Session, unit_id: int) -> str:
    name = session.scalar(select(Unit.name).where(Unit.id == unit_id))
    if name is None:
        raise NotFound(code="unit_not_found", detail="没有这个单位")
    return name


def matter_of(session: Session, local_matter_id: int) -> tuple[str, int, int]:
    """A local matter's name, its handling unit and its region."""
    row = session.execute(select(LocalMatter.name, LocalMatter.handling_unit_id, LocalMatter.region_id)
                          .where(LocalMatter.id == local_matter_id)).first()
    if row is None:
        raise NotFound(code="matter_not_found", detail="没有这个事项")
    return row[0], row[1], row[2]
