"""Linking at submission (减材料): a material satisfied by the applicant unit's standing document on file or by
an earlier case's result document instead of an upload.

``check_links`` resolves and checks every link (the same problems list as uploads get); ``write_links`` gives
the new case one ``attachment`` row per link, naming the exact version (or document) and sharing its blob — a
later version never changes what the case was filed with, and the case's readers read it through the case's
own permission check like any of its files. A result document is copied as the file the applicant would
download: the sealed PDF when sealed, otherwise the issued text rendered as PDF.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.cases.filetypes import format_of
from xietong.cases.models import Attachment, Case
from xietong.cases.storage import store_bytes
from xietong.cases.uploaders import uploader
from xietong.catalog.forms import Material
from xietong.catalog.models import BaseMatter
from xietong.config import Settings
from xietong.documents.models import Document
from xietong.documents.pdf import document_pdf
from xietong.errors import FieldProblem
from xietong.integrations.seal.models import SealedResult
from xietong.materials.kinds import result_matter_code
from xietong.materials.models import SharedMaterial, SharedMaterialVersion
from xietong.security.principal import Principal

#: The result documents that can be reused: a granted case's 办结通知书 (a denial proves nothing reusable).
REUSABLE_KINDS = ("conclusion_notice",)
CONCLUDED = ("concluded", "archived")


@dataclass(frozen=True)
class Link:
    """One resolved link: what the case's attachment row will copy."""

    code: str
    filename: str
    content_type: str
    size: int
    sha256: str | None = None  # a standing document's blob; None for a result, stored from ``content``
    content: bytes | None = None
    shared_version_id: int | None = None
    source_document_id: int | None = None


def check_links(
    session: Session,
    *,
    materials: Sequence[Material],
    applicant_unit_id: int,
    shared: dict[str, int],
    results: dict[str, int],
    today: date,
) -> tuple[list[Link], list[FieldProblem]]:
    """Resolve ``shared`` (material code → shared version id) and ``results`` (code → document id)."""
    wanted = {m.code: m for m in materials}
    links: list[Link] = []
    problems: list[FieldProblem] = []
    for code, version_id in shared.items():
        material = _linkable(wanted, code, problems, result=False)
        if material is not None:
            _add(links, problems, material, _standing(session, material, version_id, applicant_unit_id, today))
    for code, document_id in results.items():
        material = _linkable(wanted, code, problems, result=True)
        if material is not None:
            _add(links, problems, material, _result(session, material, document_id, applicant_unit_id))
    return links, problems


def write_links(
    session: Session, links: Sequence[Link], *, case_id: int, principal: Principal, settings: Settings, now: datetime
) -> dict[str, dict[str, Any]]:
    """The case's attachment rows for its links; what the ``case.submitted`` event records about them."""
    recorded: dict[str, dict[str, Any]] = {}
    for link in links:
        sha256 = link.sha256
        if sha256 is None:
            assert link.content is not None
            sha256 = store_bytes(session, link.content, content_type=link.content_type, settings=settings)
        row = Attachment(
            case_id=case_id, blob_sha256=sha256, filename=link.filename, content_type=link.content_type,
            size=link.size, material_code=link.code, **uploader(principal), uploaded_at=now,
            shared_version_id=link.shared_version_id, source_document_id=link.source_document_id,
        )
        session.add(row)
        session.flush()
        recorded[link.code] = {"attachment_id": row.id, "shared_version_id": link.shared_version_id,
                               "source_document_id": link.source_document_id, "sha256": sha256}
    return recorded


def _linkable(wanted: dict[str, Material], code: str, problems: list[FieldProblem], *, result: bool) -> Material | None:
    material = wanted.get(code)
    if material is None:
        problems.append(FieldProblem(f"materials.{code}", f"该事项不需要材料 {code}", "unknown_material"))
        return None
    if material.shared_kind is None:
        problems.append(FieldProblem(f"materials.{code}", f"“{material.name}”不能使用共享材料，请上传文件",
                                     "shared_not_allowed"))
        return None
    if material.reuses_result != result:
        wants = "以往办件的办结结果" if material.reuses_result else f"共享材料库中的“{material.shared_kind}”"
        problems.append(FieldProblem(f"materials.{code}", f"“{material.name}”应使用{wants}", "shared_kind_mismatch"))
        return None
    return material


def _add(links: list[Link], problems: list[FieldProblem], material: Material, found: Link | str) -> None:
    field = f"materials.{material.code}"
    if isinstance(found, str):
        code, _, message = found.partition("|")
        problems.append(FieldProblem(field, message, code))
    elif not material.allows_format(format_of(found.content_type) or ""):
        problems.append(FieldProblem(field, f"“{material.name}”不接受该文件格式：{found.filename}", "bad_format"))
    elif found.size > material.max_size_bytes:
        problems.append(FieldProblem(field, f"“{material.name}”不能超过 {material.max_size_mb} MB：{found.filename}",
                                     "material_too_large"))
    else:
        links.append(found)


def _standing(session: Session, material: Material, version_id: int, unit_id: int, today: date) -> Link | str:
    row = session.execute(
        select(SharedMaterialVersion, SharedMaterial)
        .join(SharedMaterial, SharedMaterial.id == SharedMaterialVersion.shared_material_id)
        .where(SharedMaterialVersion.id == version_id)
    ).first()
    if row is None or row.SharedMaterial.unit_id != unit_id:
        return f"shared_not_found|共享材料 {version_id} 不存在或不属于申请单位"
    version: SharedMaterialVersion = row.SharedMaterialVersion
    kept: SharedMaterial = row.SharedMaterial
    label = f"{kept.kind}（版本 {version.number}）"
    if kept.kind != material.shared_kind:
        return f"shared_kind_mismatch|“{material.name}”需要“{material.shared_kind}”，所选的是“{kept.kind}”"
    if version.number != kept.current_number:
        return (f"shared_superseded|{label}已被版本 {kept.current_number} 取代，请使用最新版本")
    if version.valid_until is not None and version.valid_until < today:
        return (f"shared_expired|{label}已于 {version.valid_until.isoformat()} 过期，不能使用；"
                "请先在共享材料库上传新版本，或直接上传文件")
    if version.valid_from is not None and version.valid_from > today:
        return f"shared_not_yet_valid|{label}自 {version.valid_from.isoformat()} 起才有效，暂不能使用"
    return Link(code=material.code, filename=version.filename, content_type=version.content_type, size=version.size,
                sha256=version.blob_sha256, shared_version_id=version.id)


def _result(session: Session, material: Material, document_id: int, unit_id: int) -> Link | str:
    row = session.execute(
        select(Document, Case.number, Case.applicant_unit_id, Case.status, BaseMatter.code)
        .join(Case, Case.id == Document.case_id).join(BaseMatter, BaseMatter.id == Case.base_matter_id)
        .where(Document.id == document_id, Document.kind.in_(REUSABLE_KINDS))
    ).first()
    if row is None or row.applicant_unit_id != unit_id or row.status not in CONCLUDED:
        return f"result_not_found|办结结果 {document_id} 不存在，或不是申请单位已办结办件的结果"
    code = result_matter_code(material.shared_kind or "")
    if code is not None and row.code != code:
        return f"shared_kind_mismatch|“{material.name}”需要事项 {code} 的办结结果，所选的是事项 {row.code} 的"
    document: Document = row.Document
    sealed = session.scalar(select(SealedResult.file).where(
        SealedResult.document_id == document.id, SealedResult.state == "sealed"))
    content = sealed if sealed is not None else document_pdf(document.title, document.body)
    return Link(code=material.code, filename=f"{document.title}（{row.number}）.pdf", content_type="application/pdf",
                size=len(content), content=content, source_document_id=document.id)
