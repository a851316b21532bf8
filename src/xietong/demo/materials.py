"""The demo city's shared materials (共享材料库): each department keeps its 统一社会信用代码证 (an old version
superseded by a current one), its 法定代表人身份证明 and a 数据安全承诺书 — which, for every other department,
has expired since, so the wizard shows both a document to link and one it refuses."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from typing import Any

from xietong.demo.bulk import BulkWriter
from xietong.demo.samples import pdf_bytes
from xietong.demo.seed import Directory

USCC, LEGAL, DATA = "统一社会信用代码证", "法定代表人身份证明", "数据安全承诺书"


def insert_shared_materials(
    writer: BulkWriter, ids: Directory, *, at: datetime, today: date
) -> dict[tuple[int, str], dict[str, Any]]:
    """Write the documents and their versions (files as ``blob`` rows in the database); the current version of
    each (unit id, kind), as the attachment row a case linking it gets (``Context.attach``)."""
    uploader = {}
    for person in ids.city.people:
        if person.post_code and person.key in ids.person:
            uploader.setdefault(person.unit_key, ids.person[person.key])
    materials: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    blobs: dict[str, dict[str, Any]] = {}
    current: dict[tuple[int, str], dict[str, Any]] = {}
    for n, unit in enumerate(u for u in ids.city.departments() if u.key in ids.unit):
        documents = (
            (USCC, [(None, None, at), ((at + timedelta(days=200)).date(), today + timedelta(days=3 * 365),
                                       at + timedelta(days=200))]),
            (LEGAL, [(None, today + timedelta(days=365), at + timedelta(days=30))]),
            (DATA, [(None, today - timedelta(days=10) if n % 2 else today + timedelta(days=180),
                     at + timedelta(days=60))]),
        )
        for kind, listed in documents:
            material_id = writer.next_id("shared_material")
            materials.append({"id": material_id, "unit_id": ids.unit[unit.key], "kind": kind,
                              "current_number": len(listed), "created_at": at, "updated_at": listed[-1][2]})
            for number, (valid_from, valid_until, uploaded_at) in enumerate(listed, start=1):
                content = pdf_bytes(f"{unit.uscc or unit.key} {kind} v{number}")
                sha256 = hashlib.sha256(content).hexdigest()
                blobs.setdefault(sha256, {"sha256": sha256, "size": len(content), "content_type": "application/pdf",
                                          "storage": "db", "content": content, "created_at": uploaded_at})
                version_id = writer.next_id("shared_material_version")
                current[(ids.unit[unit.key], kind)] = {"uploaded_at": uploaded_at, "row": {
                    "blob_sha256": sha256, "filename": f"{kind}（{unit.short_name}）.pdf",
                    "content_type": "application/pdf", "size": len(content), "uploaded_by_client_id": None,
                    "shared_version_id": version_id, "source_document_id": None}}
                versions.append({
                    "id": version_id, "shared_material_id": material_id,
                    "number": number, "blob_sha256": sha256, "filename": f"{kind}（{unit.short_name}）.pdf",
                    "content_type": "application/pdf", "size": len(content), "valid_from": valid_from,
                    "valid_until": valid_until, "note": "", "uploaded_by_id": uploader.get(unit.key),
                    "uploaded_by_client_id": None, "uploaded_at": uploaded_at,
                })
    writer.insert_now("blob", list(blobs.values()))
    writer.insert_now("shared_material", materials)
    writer.insert_now("shared_material_version", versions)
    return current
