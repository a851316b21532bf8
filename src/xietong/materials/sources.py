"""Where a case's linked file came from, in the words the handler reads (the case page, the API's detail)."""

from __future__ import annotations

from collections.abc import Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xietong.cases.models import Attachment, Case
from xietong.dataservice.models import ApiClient
from xietong.directory.models import Person
from xietong.documents.models import Document
from xietong.materials.models import SharedMaterial, SharedMaterialVersion


def attachment_sources(
    session: Session, attachments: Iterable[Attachment], tz: str = "Asia/Shanghai"
) -> dict[int, str]:
    """Where each linked attachment came from, as the handler reads it (uploads are left out)."""
    listed = list(attachments)
    version_ids = [a.shared_version_id for a in listed if a.shared_version_id is not None]
    document_ids = [a.source_document_id for a in listed if a.source_document_id is not None]
    versions = {r.id: r for r in session.execute(
        select(SharedMaterialVersion.id, SharedMaterialVersion.number, SharedMaterialVersion.uploaded_at,
               SharedMaterial.kind,
               func.coalesce(Person.name, "对接应用" + func.coalesce(ApiClient.name, "")).label("by"))
        .join(SharedMaterial, SharedMaterial.id == SharedMaterialVersion.shared_material_id)
        .outerjoin(Person, Person.id == SharedMaterialVersion.uploaded_by_id)
        .outerjoin(ApiClient, ApiClient.id == SharedMaterialVersion.uploaded_by_client_id)
        .where(SharedMaterialVersion.id.in_(version_ids)))} if version_ids else {}
    documents = {r.id: r for r in session.execute(
        select(Document.id, Document.title, Case.number).join(Case, Case.id == Document.case_id)
        .where(Document.id.in_(document_ids)))} if document_ids else {}
    zone = ZoneInfo(tz)
    sources: dict[int, str] = {}
    for a in listed:
        if (v := versions.get(a.shared_version_id or 0)) is not None:
            day = v.uploaded_at.astimezone(zone)
            sources[a.id] = f"共享材料库 · {v.kind} · 版本 {v.number} · 上传于 {day:%Y-%m-%d} 由 {v.by}"
        elif (d := documents.get(a.source_document_id or 0)) is not None:
            sources[a.id] = f"结果复用 · 案件 {d.number} 的{d.title}"
    return sources
