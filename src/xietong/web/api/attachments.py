"""/api/v1/attachments: upload a material before submitting, download one through the case's permission.

The size cap holds twice: a declared ``Content-Length`` above it is refused before the body is read,
and ``store_upload`` stops reading the stream as soon as the cap is passed.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict

from xietong.cases import attachments
from xietong.errors import TooLarge
from xietong.web.deps import CurrentPrincipal, reading, settings_of, writing

router = APIRouter(prefix="/attachments", tags=["附件"])
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the file


class AttachmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: int | None
    filename: str
    content_type: str
    size: int
    material_code: str | None
    uploaded_at: datetime


@router.post("", status_code=201, summary="上传材料附件（按内容识别类型，提交申请时引用其 id）")
def upload(
    request: Request,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile, File(description="PDF、OFD、图片、Word、Excel 等")],
    material_code: Annotated[str | None, Form(max_length=20)] = None,
) -> AttachmentOut:
    settings = settings_of(request)
    cap = settings.max_upload_mb * 1024 * 1024
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > cap + MULTIPART_OVERHEAD:
        raise TooLarge(code="file_too_large", detail=f"文件不能超过 {settings.max_upload_mb} MB")
    with writing(request) as session:
        attachment = attachments.store_upload(
            session, principal=principal, filename=file.filename or "", stream=file.file,
            declared_type=file.content_type, material_code=material_code, settings=settings,
        )
        return AttachmentOut.model_validate(attachment)


@router.get("/{attachment_id}", summary="下载附件（总是以下载方式返回，不在浏览器中打开）", response_class=Response)
def download(attachment_id: int, request: Request, principal: CurrentPrincipal) -> Response:
    settings = settings_of(request)
    with reading(request) as session:
        meta, content = attachments.open_attachment(
            session, principal=principal, attachment_id=attachment_id, settings=settings
        )
    headers = attachments.download_headers(meta)
    if isinstance(content, Path):
        return FileResponse(content, headers=headers, media_type=meta.content_type)
    return StreamingResponse(content, headers=headers, media_type=meta.content_type)
