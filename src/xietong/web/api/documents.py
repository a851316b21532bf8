"""/api/v1: a case's documents (文书) and approval sheet as PDF, the §32 window, and the document templates."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from xietong.documents import service
from xietong.documents.pdf import approval_sheet_pdf, document_pdf
from xietong.web.bodies import RequestBody
from xietong.web.deps import CurrentPrincipal, audit, reading, settings_of, writing

router = APIRouter(tags=["文书"])
PDF = "application/pdf"


class DocumentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: int
    event_seq: int
    kind: str
    number: str
    title: str
    body: str
    issued_at: datetime


class SupplementWindowOut(BaseModel):
    due_at: datetime = Field(description="一次性补正告知的法定期限（收到申请材料之日起五个工作日）")
    passed: bool = Field(description="已过期限：依法自收到申请材料之日起即为受理")


class CaseDocumentsOut(BaseModel):
    documents: list[DocumentOut]
    supplement_window: SupplementWindowOut | None


class TemplateOut(BaseModel):
    kind: str
    title: str
    placeholders: list[str]
    source: str = Field(description="matter 本事项 | city 全市 | default 内置")
    body: str


class TemplateIn(RequestBody):
    body: str = Field(max_length=20_000)
    local_matter_id: int | None = Field(None, description="空：全市默认模板")


class PreviewIn(RequestBody):
    body: str = Field(max_length=20_000)


class PreviewOut(BaseModel):
    text: str


def _pdf(content: bytes, name: str) -> Response:
    # attachment: a download, never rendered inline as a page of ours
    return Response(content, media_type=PDF, headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"})


@router.get("/cases/{case_id}/documents", summary="办件的文书（受理通知书、不予受理决定书、一次性补正告知书……）")
def case_documents(case_id: int, request: Request, principal: CurrentPrincipal) -> CaseDocumentsOut:
    with reading(request) as session:
        docs = service.case_documents(session, principal=principal, case_id=case_id)
        window = service.supplement_window(session, principal=principal, case_id=case_id,
                                           tz=settings_of(request).timezone)
        return CaseDocumentsOut(
            documents=[DocumentOut.model_validate(d) for d in docs],
            supplement_window=SupplementWindowOut(due_at=window.due_at, passed=window.passed) if window else None,
        )


@router.get("/documents/{document_id}.pdf", summary="文书 PDF", response_class=Response)
def document_file(document_id: int, request: Request, principal: CurrentPrincipal) -> Response:
    with reading(request) as session:
        found = service.document(session, principal=principal, document_id=document_id)
        return _pdf(document_pdf(found.title, found.body), f"document-{found.id}.pdf")


@router.get("/cases/{case_id}/approval-sheet.pdf", summary="审批单 PDF", response_class=Response)
def approval_sheet(case_id: int, request: Request, principal: CurrentPrincipal) -> Response:
    with reading(request) as session:
        header, steps = service.approval_sheet(session, principal=principal, case_id=case_id,
                                               tz=settings_of(request).timezone)
    return _pdf(approval_sheet_pdf(header, steps), f"approval-sheet-{case_id}.pdf")


@router.get("/document-templates", summary="文书模板（全市或某事项）")
def templates(request: Request, principal: CurrentPrincipal, local_matter_id: int | None = None) -> list[TemplateOut]:
    with reading(request) as session:
        return [TemplateOut(**t) for t in service.templates(session, local_matter_id=local_matter_id)]


@router.put("/document-templates/{kind}", status_code=204, summary="修改文书模板（有错误时整体拒绝并给出行号）")
def save_template(kind: str, body: TemplateIn, request: Request, principal: CurrentPrincipal) -> Response:
    with writing(request) as session:
        service.save_template(session, principal=principal, kind=kind, body=body.body,
                              local_matter_id=body.local_matter_id)
        audit(session, request, principal, "documents.template_saved", target_kind="document_template",
              target_id=kind, local_matter_id=body.local_matter_id)
    return Response(status_code=204)


@router.post("/document-templates/{kind}/preview", summary="预览文书模板")
def preview(kind: str, body: PreviewIn, principal: CurrentPrincipal) -> PreviewOut:
    return PreviewOut(text=service.preview(kind, body.body))
