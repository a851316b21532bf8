"""/api/v1/matters/… for the matter editor: open a draft from the latest version, edit its settings, materials,
form and process (BPMN), and check what stops it from being published. The same operations as the pages
(``catalog.drafts``); bad input is problem+json naming every problem. A saved process that does not validate
is kept (``valid: false`` with its problems) and the draft cannot be published until it does."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from xietong.catalog import drafts, queries
from xietong.catalog.bpmn_io import MAX_BPMN_BYTES
from xietong.catalog.schemas import VersionOut
from xietong.web.deps import CurrentPrincipal, audit, reading, writing

router = APIRouter(prefix="/matters", tags=["事项库"])


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["immediate", "promised"]
    promised_limit_days: int = Field(ge=0, le=365)
    fee_yuan: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)] = Decimal(0)
    trips: int = Field(0, ge=0, le=99)


class FormIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    form_schema: dict[str, Any]


class MaterialsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    materials: list[Any]


class ProblemOut(BaseModel):
    element: str
    line: int
    message: str
    code: str


class ProcessSaved(BaseModel):
    valid: bool
    problems: list[ProblemOut]


class PublishCheck(BaseModel):
    publishable: bool
    problems: list[dict[str, str]]


@router.post("/{local_matter_id}/drafts", status_code=201, summary="从最新版本建立草稿（已有草稿时 409）")
def open_draft(local_matter_id: int, request: Request, principal: CurrentPrincipal) -> VersionOut:
    with writing(request) as session:
        local = drafts.administered_matter(session, principal, local_matter_id)
        version = drafts.open_draft(session, local=local)
        audit(session, request, principal, "catalog.version_drafted", target_kind="matter_version",
              target_id=version.id, local_matter_id=local_matter_id, number=version.number)
        return queries.version_out(session, version, with_process=True)


def _edit(session: Any, principal: Any, version_id: int) -> Any:
    drafts.administered_version(session, principal, version_id)
    return drafts.editable(session, version_id)


@router.put("/versions/{version_id}/settings", summary="修改草稿的办件类型、承诺时限、收费和到现场次数")
def settings(version_id: int, body: SettingsIn, request: Request, principal: CurrentPrincipal) -> VersionOut:
    with writing(request) as session:
        version = drafts.update_settings(session, version=_edit(session, principal, version_id), **body.model_dump())
        audit(session, request, principal, "catalog.draft_settings_saved", target_kind="matter_version",
              target_id=version_id)
        return queries.version_out(session, version, with_process=True)


@router.put("/versions/{version_id}/form", summary="替换草稿的表单（xietong.form/1；无效时逐项列出问题，不保存）")
def form(version_id: int, body: FormIn, request: Request, principal: CurrentPrincipal) -> VersionOut:
    with writing(request) as session:
        version = drafts.save_content(session, version=_edit(session, principal, version_id),
                                      form_schema=body.form_schema)
        audit(session, request, principal, "catalog.draft_form_saved", target_kind="matter_version",
              target_id=version_id)
        return queries.version_out(session, version)


@router.put("/versions/{version_id}/materials", summary="替换草稿的申请材料（无效时逐项列出问题，不保存）")
def materials(version_id: int, body: MaterialsIn, request: Request, principal: CurrentPrincipal) -> VersionOut:
    with writing(request) as session:
        version = drafts.save_content(session, version=_edit(session, principal, version_id),
                                      materials=body.materials)
        audit(session, request, principal, "catalog.draft_materials_saved", target_kind="matter_version",
              target_id=version_id, count=len(body.materials))
        return queries.version_out(session, version)


@router.put("/versions/{version_id}/process.bpmn", summary="保存草稿的流程（BPMN 2.0 XML；不通过校验时保留并列出问题）")
async def process(version_id: int, request: Request, principal: CurrentPrincipal) -> ProcessSaved:
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BPMN_BYTES:
            break
    with writing(request) as session:
        version = _edit(session, principal, version_id)
        problems = drafts.save_process(session, version=version, bpmn=data, person_id=principal.id)
        audit(session, request, principal, "catalog.draft_process_saved", target_kind="matter_version",
              target_id=version_id, valid=not problems, problems=len(problems))
    return ProcessSaved(valid=not problems, problems=[ProblemOut(**p.__dict__) for p in problems])


@router.get("/versions/{version_id}/publish-check", summary="草稿能否发布：列出阻止发布的每个问题")
def publish_check(version_id: int, request: Request, principal: CurrentPrincipal) -> PublishCheck:
    with reading(request) as session:
        version = drafts.administered_version(session, principal, version_id)
        is_draft = version.status == "draft"
        problems = drafts.publish_problems(session, version) if is_draft else []
    listed = [{"field": p.field, "message": p.message, "code": p.code} for p in problems]
    return PublishCheck(publishable=is_draft and not problems, problems=listed)
