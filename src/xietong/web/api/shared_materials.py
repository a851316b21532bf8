"""/api/v1/shared-materials: a unit's standing documents (共享材料库, 减材料) — list, upload a version, history
with the cases that used each version, download a version — and the results of its concluded cases it may reuse.

Submitting links them with ``shared_materials`` / ``reused_results`` on ``POST /api/v1/cases``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from xietong.cases.attachments import download_headers
from xietong.errors import InvalidInput, TooLarge
from xietong.materials import queries, service
from xietong.materials.models import SharedMaterialVersion
from xietong.materials.schemas import SharedMaterialDetail, UnitCatalogue, VersionOut
from xietong.security.principal import Principal
from xietong.web.api.attachments import MULTIPART_OVERHEAD
from xietong.web.deps import CurrentPrincipal, audit, reading, settings_of, writing

router = APIRouter(prefix="/shared-materials", tags=["共享材料"])
Kind = Annotated[str, Form(max_length=40, description="材料类型，如 统一社会信用代码证")]
Note = Annotated[str, Form(max_length=200)]
Day = Annotated[date | None, Form(description="有效期（含），YYYY-MM-DD；不填为不限")]


@router.get("", summary="本单位的共享材料（各类型的当前版本）与可复用的办结结果")
def catalogue(request: Request, principal: CurrentPrincipal,
              unit_id: Annotated[int | None, Query(description="默认为本人所在的第一个单位")] = None) -> UnitCatalogue:
    with reading(request) as session:
        return queries.unit_catalogue(session, principal=principal, unit_id=_unit(principal, unit_id),
                                      today=service.today(settings_of(request).timezone))


@router.post("", status_code=201, summary="上传共享材料（同一类型再次上传即为新版本，旧版本仍供已引用的办件查看）")
def upload(request: Request, principal: CurrentPrincipal, file: Annotated[UploadFile, File()],
           unit_id: Annotated[int, Form()], kind: Kind, valid_from: Day = None, valid_until: Day = None,
           note: Note = "") -> VersionOut:
    return _upload(request, principal, file, unit_id=unit_id, kind=kind, valid_from=valid_from,
                   valid_until=valid_until, note=note)


@router.get("/{shared_material_id}", summary="一种共享材料的全部版本，以及引用各版本的办件")
def detail(shared_material_id: int, request: Request, principal: CurrentPrincipal) -> SharedMaterialDetail:
    with reading(request) as session:
        return queries.material_detail(session, principal=principal, material_id=shared_material_id,
                                       today=service.today(settings_of(request).timezone))


@router.post("/{shared_material_id}/versions", status_code=201, summary="上传该共享材料的新版本")
def new_version(shared_material_id: int, request: Request, principal: CurrentPrincipal,
                file: Annotated[UploadFile, File()], valid_from: Day = None, valid_until: Day = None,
                note: Note = "") -> VersionOut:
    with reading(request) as session:
        material = service.material_of(session, principal=principal, material_id=shared_material_id)
        unit_id, kind = material.unit_id, material.kind
    return _upload(request, principal, file, unit_id=unit_id, kind=kind, valid_from=valid_from,
                   valid_until=valid_until, note=note)


@router.get("/{shared_material_id}/versions/{number}", summary="下载共享材料的某一版本", response_class=Response)
def download(shared_material_id: int, number: int, request: Request, principal: CurrentPrincipal) -> Response:
    with reading(request) as session:
        meta, content = service.open_version(session, principal=principal, material_id=shared_material_id,
                                             number=number, settings=settings_of(request))
    headers = download_headers(meta)
    if isinstance(content, Path):
        return FileResponse(content, headers=headers, media_type=meta.content_type)
    return StreamingResponse(content, headers=headers, media_type=meta.content_type)


def record_upload(session: Session, request: Request, principal: Principal, version: SharedMaterialVersion, *,
                  unit_id: int) -> None:
    """A unit's standing document is relied on by later cases: who put which version there is on the audit trail."""
    # ids and the digest only: the kind is the unit's own text, and the audit administrator reads every record
    audit(session, request, principal, "materials.version_added", target_kind="shared_material",
          target_id=version.shared_material_id, unit_id=unit_id, number=version.number, sha256=version.blob_sha256)


def _unit(principal: CurrentPrincipal, unit_id: int | None) -> int:
    if unit_id is not None:
        return unit_id
    if not principal.unit_ids:
        raise InvalidInput(code="unit_required", detail="请指定单位（unit_id）")
    return min(principal.unit_ids)


def _upload(request: Request, principal: CurrentPrincipal, file: UploadFile, *, unit_id: int, kind: str,
            valid_from: date | None, valid_until: date | None, note: str) -> VersionOut:
    settings = settings_of(request)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.max_upload_mb * 1024 * 1024 + MULTIPART_OVERHEAD:
        raise TooLarge(code="file_too_large", detail=f"文件不能超过 {settings.max_upload_mb} MB")
    with writing(request) as session:
        version = service.add_version(
            session, principal=principal, unit_id=unit_id, kind=kind, filename=file.filename or "",
            stream=file.file, declared_type=file.content_type, settings=settings, valid_from=valid_from,
            valid_until=valid_until, note=note,
        )
        record_upload(session, request, principal, version, unit_id=unit_id)
        by = principal.name or None
        return queries.version_out(version, by, service.today(settings.timezone), version.number)
