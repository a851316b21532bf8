"""/api/v1/oa: the OA exchange — the OA delivers documents (signed, no session); a unit's clerks list them,
start a case from one or decline it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from xietong.db.base import utcnow
from xietong.errors import InvalidInput, TooLarge, Unauthenticated
from xietong.errors import Unavailable as ServiceUnavailable
from xietong.integrations.oa import service
from xietong.integrations.oa.client import configured
from xietong.integrations.oa.models import OaDocument
from xietong.integrations.oa.protocol import APP_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from xietong.web.bodies import RequestBody
from xietong.web.deps import CurrentPrincipal, audit, reading, settings_of, writing

router = APIRouter(prefix="/oa", tags=["OA 公文交换"])
BASE64_OVERHEAD = 4 / 3


class OaDocumentOut(BaseModel):
    id: int
    oa_doc_id: str
    doc_number: str
    title: str
    sender: str
    unit_id: int
    body: str
    attachments: list[dict[str, Any]] = Field(description="附件名与大小")
    received_at: datetime
    state: Literal["new", "started", "declined"]
    case_id: int | None
    handled_at: datetime | None
    note: str | None


def _out(document: OaDocument) -> OaDocumentOut:
    return OaDocumentOut(
        id=document.id, oa_doc_id=document.oa_doc_id, doc_number=document.doc_number, title=document.title,
        sender=document.sender, unit_id=document.unit_id, body=document.body,
        attachments=[{"filename": a["filename"], "size": a["size"]} for a in document.attachments],
        received_at=document.received_at, state=document.state,  # type: ignore[arg-type]
        case_id=document.case_id, handled_at=document.handled_at, note=document.note,
    )


@router.post("/documents", status_code=201, summary="OA 推送来文（以共享密钥签名，不使用会话）",
             responses={200: {"description": "同一来文再次推送：返回已有记录"}})
async def receive(request: Request) -> JSONResponse:
    settings = settings_of(request)
    if not configured(settings):
        raise ServiceUnavailable(code="oa_not_configured", detail="尚未配置 OA 公文交换（XIETONG_OA_*）")
    cap = int(settings.oa_max_attachments_mb * 1024 * 1024 * BASE64_OVERHEAD) + 1024 * 1024
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise TooLarge(code="oa_document_too_large", detail=f"来文超过 {settings.oa_max_attachments_mb} MB")
    body = await request.body()
    if len(body) > cap:
        raise TooLarge(code="oa_document_too_large", detail=f"来文超过 {settings.oa_max_attachments_mb} MB")
    refusal = verify(settings.oa_secret or "", app_id=request.headers.get(APP_HEADER, ""),
                     expected_app_id=settings.oa_app_id or "", timestamp=request.headers.get(TIMESTAMP_HEADER, ""),
                     signature=request.headers.get(SIGNATURE_HEADER, ""), body=body)
    if refusal is not None:
        raise Unauthenticated(code="oa_signature_invalid", title="OA 来文签名无效",
                              detail=f"OA 来文验证失败：{refusal}")
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise InvalidInput(code="malformed_json", detail="来文不是有效的 JSON") from exc

    def keep() -> tuple[OaDocumentOut, bool]:
        with writing(request) as session:
            document, created = service.receive_document(session, data, settings=settings, now=utcnow())
            return _out(document), created

    document, created = await run_in_threadpool(keep)
    return JSONResponse(document.model_dump(mode="json"), status_code=201 if created else 200)


@router.get("/documents", summary="本单位的 OA 来文（新的在前）")
def inbox(request: Request, principal: CurrentPrincipal,
          state: Literal["new", "started", "declined"] | None = "new", before_id: int | None = None,
          limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[OaDocumentOut]:
    with reading(request) as session:
        return [_out(d) for d in service.inbox(session, principal=principal, state=state, limit=limit,
                                                before_id=before_id)]


@router.get("/documents/{document_id}", summary="一份 OA 来文")
def document(document_id: int, request: Request, principal: CurrentPrincipal) -> OaDocumentOut:
    with reading(request) as session:
        return _out(service.document_for(session, principal=principal, document_id=document_id))


class StartIn(RequestBody):
    local_matter_id: int
    form: dict[str, Any] = Field(default_factory=dict, description="表单；标题默认取来文标题")
    materials: dict[str, list[int]] = Field(default_factory=dict, description="材料编码 → 来文附件序号（从 0 起）")


class StartedOut(BaseModel):
    case_id: int
    number: str


@router.post("/documents/{document_id}/start", status_code=201, summary="以来文发起办件（申请单位为收文单位）")
def start(document_id: int, body: StartIn, request: Request, principal: CurrentPrincipal) -> StartedOut:
    with writing(request) as session:
        case_id, number = service.start_case(
            session, principal=principal, document_id=document_id, local_matter_id=body.local_matter_id,
            form=body.form, materials=body.materials, settings=settings_of(request), now=utcnow(),
        )
        return StartedOut(case_id=case_id, number=number)


class DeclineIn(RequestBody):
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/documents/{document_id}/decline", summary="退文：不以来文发起办件，并告知 OA 理由")
def decline(document_id: int, body: DeclineIn, request: Request, principal: CurrentPrincipal) -> OaDocumentOut:
    with writing(request) as session:
        document = service.decline(session, principal=principal, document_id=document_id, reason=body.reason,
                                   now=utcnow())
        audit(session, request, principal, "oa.document_declined", target_kind="oa_document", target_id=document.id)
        return _out(document)
