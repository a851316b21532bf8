"""The read side of the matter library: the matter hall's search and a matter's page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session

from xietong.catalog.models import BaseMatter, LocalMatter, MatterVersion, ProcessDefinition
from xietong.catalog.schemas import MatterDetail, MatterSummary, VersionOut
from xietong.directory.models import Region, Unit
from xietong.errors import InvalidInput, NotFound
from xietong.pagination import Page, check_limit, decode_cursor, encode_cursor

STATUSES = ("draft", "published", "retired")


def _summary_query() -> Select[Any]:
    current = and_(MatterVersion.local_matter_id == LocalMatter.id, MatterVersion.status == "published")
    return (
        select(
            LocalMatter,
            Region.name.label("region_name"),
            Unit.name.label("unit_name"),
            MatterVersion.id.label("version_id"),
            MatterVersion.kind,
            MatterVersion.promised_limit_days,
            MatterVersion.legal_limit_days,
        )
        .join(Region, Region.id == LocalMatter.region_id)
        .join(Unit, Unit.id == LocalMatter.handling_unit_id)
        .outerjoin(MatterVersion, current)
    )


def _summary(row: Any) -> MatterSummary:
    matter: LocalMatter = row[0]
    return MatterSummary(
        id=matter.id, code=matter.code, name=matter.name, status=matter.status, base_matter_id=matter.base_matter_id,
        region_id=matter.region_id, region_name=row.region_name, handling_unit_id=matter.handling_unit_id,
        handling_unit_name=row.unit_name, kind=row.kind, promised_limit_days=row.promised_limit_days,
        legal_limit_days=row.legal_limit_days, current_version_id=row.version_id,
    )


def find_matters(
    session: Session,
    *,
    keyword: str = "",
    region_id: int | None = None,
    handling_unit_id: int | None = None,
    status: str = "published",
    limit: int = 50,
    cursor: str | None = None,
) -> Page[MatterSummary]:
    """事项大厅: matters by keyword (name or code, any fragment), region and handling unit, by code."""
    if status not in STATUSES:
        raise InvalidInput(code="bad_status", detail="事项状态只能是 draft、published 或 retired")
    limit = check_limit(limit)
    query = _summary_query().where(LocalMatter.status == status)
    keyword = keyword.strip()
    if keyword:
        query = query.where(
            LocalMatter.name.contains(keyword, autoescape=True) | LocalMatter.code.contains(keyword, autoescape=True)
        )
    if region_id is not None:
        query = query.where(LocalMatter.region_id == region_id)
    if handling_unit_id is not None:
        query = query.where(LocalMatter.handling_unit_id == handling_unit_id)
    if cursor:
        (code,) = decode_cursor(cursor, (str,))
        query = query.where(LocalMatter.code > code)
    rows = session.execute(query.order_by(LocalMatter.code).limit(limit + 1)).all()
    items = [_summary(row) for row in rows[:limit]]
    return Page(items=items, next_cursor=encode_cursor((items[-1].code,)) if len(rows) > limit else None)


def version_out(session: Session, version: MatterVersion, *, with_process: bool = False) -> VersionOut:
    out = VersionOut.model_validate(version)
    if with_process:
        out.process = session.scalar(
            select(ProcessDefinition.body).where(ProcessDefinition.id == version.process_definition_id)
        )
    return out


def matter_detail(session: Session, *, local_matter_id: int) -> MatterDetail:
    row = session.execute(_summary_query().where(LocalMatter.id == local_matter_id)).first()
    if row is None:
        raise NotFound(code="matter_not_found", detail="事项不存在")
    versions = session.scalars(
        select(MatterVersion).where(MatterVersion.local_matter_id == local_matter_id).order_by(MatterVersion.number)
    ).all()
    current = next((v for v in versions if v.status == "published"), None)
    legal_basis = session.scalar(select(BaseMatter.legal_basis).where(BaseMatter.id == row[0].base_matter_id)) or ""
    return MatterDetail(
        **_summary(row).model_dump(), legal_basis=legal_basis,
        current_version=version_out(session, current, with_process=True) if current else None,
        versions=[version_out(session, v) for v in versions],
    )


def require_version(session: Session, *, version_id: int) -> MatterVersion:
    version = session.get(MatterVersion, version_id)
    if version is None:
        raise NotFound(code="version_not_found", detail="事项版本不存在")
    return version


def process_of_version(session: Session, *, version_id: int) -> dict[str, Any]:
    """The process definition a version (and so every case submitted under it) runs."""
    body = session.scalar(
        select(ProcessDefinition.body)
        .join(MatterVersion, MatterVersion.process_definition_id == ProcessDefinition.id)
        .where(MatterVersion.id == version_id)
    )
    if body is None:
        raise NotFound(code="version_not_found", detail="事项版本不存在")
    return body
