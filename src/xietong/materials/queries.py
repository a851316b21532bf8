"""Reading the catalogue: a unit's documents with their current versions, one document's history and the cases
that used each version, the results a unit may reuse, and what the wizard offers per material."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.cases.models import Attachment, Case
from xietong.catalog.forms import Material
from xietong.catalog.models import BaseMatter, LocalMatter
from xietong.directory.models import Person
from xietong.documents.models import Document
from xietong.integrations.seal.models import SealedResult
from xietong.materials.kinds import KINDS, result_matter_code
from xietong.materials.linking import CONCLUDED, REUSABLE_KINDS
from xietong.materials.models import SharedMaterial, SharedMaterialVersion
from xietong.materials.schemas import (
    CaseUse,
    ReusableResult,
    SharedMaterialDetail,
    SharedMaterialOut,
    UnitCatalogue,
    VersionOut,
)
from xietong.materials.service import kept_unit, readable_material
from xietong.security.principal import Principal

MAX_RESULTS = 50


def state_of(version: SharedMaterialVersion, today: date) -> str:
    """valid, expired or not_yet on ``today``."""
    if version.valid_until is not None and version.valid_until < today:
        return "expired"
    if version.valid_from is not None and version.valid_from > today:
        return "not_yet"
    return "valid"


def unit_catalogue(session: Session, *, principal: Principal, unit_id: int, today: date) -> UnitCatalogue:
    """A unit's standing documents (current version each) and its reusable results, for its keepers."""
    unit = kept_unit(session, principal, unit_id)
    rows = session.execute(
        select(SharedMaterial, SharedMaterialVersion, Person.name)
        .outerjoin(SharedMaterialVersion, (SharedMaterialVersion.shared_material_id == SharedMaterial.id)
                   & (SharedMaterialVersion.number == SharedMaterial.current_number))
        .outerjoin(Person, Person.id == SharedMaterialVersion.uploaded_by_id)
        .where(SharedMaterial.unit_id == unit_id).order_by(SharedMaterial.kind)
    ).all()
    documents = [_material_out(r.SharedMaterial, r.SharedMaterialVersion, r.name, today) for r in rows]
    return UnitCatalogue(unit_id=unit.id, unit_name=unit.name, documents=documents,
                         results=reusable_results(session, unit_id=unit_id), kinds=list(KINDS))


def material_detail(session: Session, *, principal: Principal, material_id: int, today: date) -> SharedMaterialDetail:
    """One standing document: every version (newest first) and the cases filed with each."""
    material, unit = readable_material(session, principal, material_id)
    rows = session.execute(
        select(SharedMaterialVersion, Person.name).outerjoin(Person, Person.id == SharedMaterialVersion.uploaded_by_id)
        .where(SharedMaterialVersion.shared_material_id == material_id)
        .order_by(SharedMaterialVersion.number.desc())
    ).all()
    versions = [version_out(r.SharedMaterialVersion, r.name, today, material.current_number) for r in rows]
    numbers = {r.SharedMaterialVersion.id: r.SharedMaterialVersion.number for r in rows}
    uses = session.execute(
        select(Attachment.shared_version_id, Attachment.material_code, Case.id, Case.number, Case.title,
               Case.submitted_at)
        .join(Case, Case.id == Attachment.case_id)
        .where(Attachment.shared_version_id.in_(list(numbers)) if numbers else Attachment.id.is_(None))
        .order_by(Case.submitted_at.desc(), Case.id.desc()).limit(200)
    ).all()
    current = next((v for v in versions if v.current), None)
    return SharedMaterialDetail(
        id=material.id, unit_id=unit.id, unit_name=unit.name, kind=material.kind, current=current,
        updated_at=material.updated_at, versions=versions,
        uses=[CaseUse(case_id=u.id, number=u.number, title=u.title, version_number=numbers[u.shared_version_id],
                      material_code=u.material_code, submitted_at=u.submitted_at) for u in uses],
    )


def reusable_results(session: Session, *, unit_id: int, base_matter_code: str | None = None) -> list[ReusableResult]:
    """The unit's concluded cases' result documents, newest first (at most 50)."""
    query = (
        select(Document, Case.number, Case.id.label("case_id"), LocalMatter.name, BaseMatter.code,
               SealedResult.state)
        .join(Case, Case.id == Document.case_id)
        .join(LocalMatter, LocalMatter.id == Case.local_matter_id)
        .join(BaseMatter, BaseMatter.id == Case.base_matter_id)
        .outerjoin(SealedResult, SealedResult.document_id == Document.id)
        .where(Case.applicant_unit_id == unit_id, Case.status.in_(CONCLUDED), Document.kind.in_(REUSABLE_KINDS))
        .order_by(Document.issued_at.desc(), Document.id.desc()).limit(MAX_RESULTS)
    )
    if base_matter_code is not None:
        query = query.where(BaseMatter.code == base_matter_code)
    return [
        ReusableResult(document_id=r.Document.id, case_id=r.case_id, case_number=r.number, matter=r.name,
                       base_matter_code=r.code, title=r.Document.title, document_number=r.Document.number,
                       issued_at=r.Document.issued_at, sealed=r.state == "sealed")
        for r in session.execute(query)
    ]


@dataclass(frozen=True)
class Offer:
    """What the wizard offers for one material: the unit's current document on file, or its latest result."""

    code: str
    value: str  # the wizard's form value: ``v<version id>`` or ``r<document id>``
    label: str
    usable: bool
    problem: str | None = None


def offers(session: Session, *, unit_id: int, materials: Iterable[Material], today: date,
           tz: str = "Asia/Shanghai") -> dict[str, Offer]:
    """For each material with a ``shared_kind``, the applicant unit's document to link by default (if any)."""
    wanted = [m for m in materials if m.shared_kind]
    kinds = {m.shared_kind for m in wanted if not m.reuses_result}
    found: dict[str, Offer] = {}
    current = {}
    if kinds:
        current = {r.SharedMaterial.kind: r for r in session.execute(
            select(SharedMaterial, SharedMaterialVersion)
            .join(SharedMaterialVersion, (SharedMaterialVersion.shared_material_id == SharedMaterial.id)
                  & (SharedMaterialVersion.number == SharedMaterial.current_number))
            .where(SharedMaterial.unit_id == unit_id, SharedMaterial.kind.in_(kinds)))}
    for m in wanted:
        if m.reuses_result:
            code = result_matter_code(m.shared_kind or "")
            if results := reusable_results(session, unit_id=unit_id, base_matter_code=code):
                r = results[0]
                day = r.issued_at.astimezone(ZoneInfo(tz))
                label = f"结果复用：{r.matter}（{r.case_number}）的{r.title}，{day:%Y-%m-%d} 办结"
                found[m.code] = Offer(m.code, f"r{r.document_id}", label, True)
        elif (row := current.get(m.shared_kind)) is not None:
            version: SharedMaterialVersion = row.SharedMaterialVersion
            state = state_of(version, today)
            until = f"有效期至 {version.valid_until.isoformat()}" if version.valid_until else "长期有效"
            label = f"已在库：{m.shared_kind}（{version.uploaded_at.astimezone(ZoneInfo(tz)):%Y-%m} 上传，{until}）"
            problem = {"expired": f"已于 {version.valid_until} 过期，不能使用，请上传新文件",
                       "not_yet": f"自 {version.valid_from} 起才有效，暂不能使用"}.get(state)
            found[m.code] = Offer(m.code, f"v{version.id}", label, problem is None, problem)
    return found


def version_out(version: SharedMaterialVersion, by: str | None, today: date, current: int) -> VersionOut:
    return VersionOut(
        id=version.id, number=version.number, filename=version.filename, content_type=version.content_type,
        size=version.size, valid_from=version.valid_from, valid_until=version.valid_until, note=version.note,
        uploaded_at=version.uploaded_at, uploaded_by=by, state=state_of(version, today),
        current=version.number == current,
    )


def _material_out(material: SharedMaterial, version: SharedMaterialVersion | None, by: str | None,
                  today: date) -> SharedMaterialOut:
    current = version_out(version, by, today, material.current_number) if version is not None else None
    return SharedMaterialOut(id=material.id, unit_id=material.unit_id, kind=material.kind, current=current,
                             updated_at=material.updated_at)
