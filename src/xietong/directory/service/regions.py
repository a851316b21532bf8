"""Regions (行政区划): 丽水市 and its county-level divisions, by legal or platform code."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.directory.errors import taken, unknown_reference
from xietong.directory.models import Region
from xietong.directory.schemas import RegionIn


def create_region(session: Session, *, data: RegionIn) -> Region:
    """Add a region; its code is unique, its parent (if any) named by code."""
    if region_by_code(session, code=data.code) is not None:
        raise taken("region_code", "行政区划代码", data.code)
    parent_id = None
    if data.parent_code is not None:
        parent_id = region_ref(session, code=data.parent_code).id
    region = Region(
        code=data.code,
        code_kind=data.code_kind,
        name=data.name,
        short_name=data.short_name,
        level=data.level,
        parent_id=parent_id,
    )
    session.add(region)
    session.flush()
    return region


def region_by_code(session: Session, *, code: str) -> Region | None:
    """The region with this code, if any."""
    return session.scalar(select(Region).where(Region.code == code))


def region_ref(session: Session, *, code: str, field: str = "region_code") -> Region:
    """The region an input refers to by code; an unknown code is invalid input."""
    region = region_by_code(session, code=code)
    if region is None:
        raise unknown_reference(field, "行政区划", code)
    return region


def regions(session: Session) -> list[Region]:
    """Every region, the city first and then by code."""
    return list(session.scalars(select(Region).order_by(Region.parent_id.is_not(None), Region.code)))
