"""Keeping a unit's standing documents: a new version of a kind (the file checked and stored like any upload),
reading a version's file. Who may: the unit's own members (and its application clients), a directory
administrator whose scope covers the unit, the system. Anyone else is told the document does not exist."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from xietong.cases.attachments import AttachmentMeta, Readable, store_file
from xietong.cases.models import Blob
from xietong.cases.storage import store_of
from xietong.cases.uploaders import uploader
from xietong.config import Settings
from xietong.db.base import utcnow
from xietong.directory.models import Unit
from xietong.errors import FieldProblem, Forbidden, InvalidInput, NotFound
from xietong.materials.kinds import MAX_KIND, clean_kind
from xietong.materials.models import SharedMaterial, SharedMaterialVersion
from xietong.security.permissions import may_administer
from xietong.security.principal import Principal

MAX_NOTE = 200


def today(tz: str) -> date:
    """The local date that validity is judged by."""
    return datetime.now(ZoneInfo(tz)).date()


def may_keep(principal: Principal, unit: Unit) -> bool:
    """Whether the principal may see and keep this unit's standing documents."""
    if principal.kind == "system":
        return True
    if unit.id in principal.unit_ids:
        return True
    return principal.kind == "person" and may_administer(principal, "directory", region_id=unit.region_id,
                                                         unit_path=unit.path)


def kept_unit(session: Session, principal: Principal, unit_id: int) -> Unit:
    """The unit, if the principal may keep its documents; 403 for a unit one may not (units are public)."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(code="unit_not_found", detail=f"单位不存在（编号 {unit_id}）")
    if not may_keep(principal, unit):
        raise Forbidden(code="not_unit_member", detail="只能查看和管理本单位的共享材料")
    return unit


def readable_material(session: Session, principal: Principal, material_id: int) -> tuple[SharedMaterial, Unit]:
    """A standing document and its unit; a missing one and one of another unit are the same 404."""
    row = session.execute(
        select(SharedMaterial, Unit).join(Unit, Unit.id == SharedMaterial.unit_id)
        .where(SharedMaterial.id == material_id)
    ).first()
    if row is None or not may_keep(principal, row.Unit):
        raise NotFound(code="shared_material_not_found", detail="共享材料不存在，或您无权查看")
    return row.SharedMaterial, row.Unit


def add_version(
    session: Session,
    *,
    principal: Principal,
    unit_id: int,
    kind: str,
    filename: str,
    stream: Readable,
    declared_type: str | None,
    settings: Settings,
    valid_from: date | None = None,
    valid_until: date | None = None,
    note: str = "",
) -> SharedMaterialVersion:
    """Upload a standing document of ``kind`` for the unit: the first version, or one superseding the current."""
    if principal.kind not in ("person", "client") or principal.id is None:
        raise Forbidden(code="upload_person_only", detail="只有登录的人员或对接应用可以上传共享材料")
    kept_unit(session, principal, unit_id)
    cleaned = clean_kind(kind)
    problems = _check(cleaned, valid_from, valid_until, note, today(settings.timezone))
    if problems:
        raise InvalidInput(code="shared_material_invalid", detail=problems[0].message, errors=problems)
    assert cleaned is not None
    stored = store_file(session, filename=filename, stream=stream, declared_type=declared_type, settings=settings)
    material = _locked_material(session, unit_id, cleaned)
    material.current_number += 1
    material.updated_at = utcnow()
    version = SharedMaterialVersion(
        shared_material_id=material.id, number=material.current_number, blob_sha256=stored.sha256,
        filename=stored.filename, content_type=stored.content_type, size=stored.size, valid_from=valid_from,
        valid_until=valid_until, note=note.strip(), **uploader(principal), uploaded_at=material.updated_at,
    )
    session.add(version)
    session.flush()
    return version


def material_of(session: Session, *, principal: Principal, material_id: int) -> SharedMaterial:
    """A standing document the principal may keep (to add a version of its unit and kind); else 404."""
    return readable_material(session, principal, material_id)[0]


def open_version(
    session: Session, *, principal: Principal, material_id: int, number: int, settings: Settings
) -> tuple[AttachmentMeta, Path | Iterator[bytes]]:
    """One version's file for the unit's keepers (cases read their linked copy through the case instead)."""
    readable_material(session, principal, material_id)
    row = session.execute(
        select(SharedMaterialVersion, Blob.storage).join(Blob, Blob.sha256 == SharedMaterialVersion.blob_sha256)
        .where(SharedMaterialVersion.shared_material_id == material_id, SharedMaterialVersion.number == number)
    ).first()
    if row is None:
        raise NotFound(code="shared_material_not_found", detail="共享材料不存在，或您无权查看")
    version: SharedMaterialVersion = row.SharedMaterialVersion
    meta = AttachmentMeta(
        id=version.id, case_id=None, filename=version.filename, content_type=version.content_type,
        size=version.size, sha256=version.blob_sha256, material_code=None, uploaded_by_id=version.uploaded_by_id,
        uploaded_at=version.uploaded_at,
    )
    return meta, store_of(row.storage, settings).open(session, meta.sha256)


def _check(kind: str | None, valid_from: date | None, valid_until: date | None, note: str,
           now: date) -> list[FieldProblem]:
    problems = []
    if kind is None:
        problems.append(FieldProblem("kind", f"请填写材料类型（最长 {MAX_KIND} 个字，不能以 result 开头）", "bad_kind"))
    if valid_from and valid_until and valid_until < valid_from:
        problems.append(FieldProblem("valid_until", "有效期截止日不能早于起始日", "bad_validity"))
    elif valid_until and valid_until < now:
        problems.append(FieldProblem("valid_until", f"该材料已于 {valid_until.isoformat()} 过期，不能作为新版本上传",
                                     "already_expired"))
    if len(note.strip()) > MAX_NOTE:
        problems.append(FieldProblem("note", f"说明不能超过 {MAX_NOTE} 个字", "too_long"))
    return problems


def _locked_material(session: Session, unit_id: int, kind: str) -> SharedMaterial:
    """The (unit, kind) row, created if absent, locked: two uploads of one kind number their versions in turn."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    now = utcnow()
    session.execute(
        dialect.insert(SharedMaterial.__table__)
        .values(unit_id=unit_id, kind=kind, current_number=0, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["unit_id", "kind"])
    )
    material = session.scalars(
        select(SharedMaterial).where(SharedMaterial.unit_id == unit_id, SharedMaterial.kind == kind)
        .with_for_update().execution_options(populate_existing=True)
    ).one()
    return material
