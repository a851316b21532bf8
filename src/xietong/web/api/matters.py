"""/api/v1/matters: the matter hall (anyone logged in) and the matter library's administration.

Publishing is how a matter changes: a new draft version is validated whole when it is created,
and publishing it retires the previous one; cases keep the version they were submitted under.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from sqlalchemy.orm import Session

from xietong.catalog import bpmn_io, drafts, queries
from xietong.catalog import service as catalog
from xietong.catalog.models import BaseMatter, LocalMatter
from xietong.catalog.schemas import (
    BaseMatterIn,
    BaseMatterOut,
    LocalMatterIn,
    MatterDetail,
    MatterSummary,
    VersionIn,
    VersionOut,
)
from xietong.directory import service as directory
from xietong.errors import FieldProblem, Forbidden, InvalidInput, NotFound
from xietong.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from xietong.security.permissions import may_administer
from xietong.security.principal import Principal
from xietong.web.deps import CurrentPrincipal, audit, reading, writing

router = APIRouter(prefix="/matters", tags=["事项库"])


def _require_admin(principal: Principal, *, region_id: int | None = None) -> None:
    if not may_administer(principal, "catalog", region_id=region_id):
        raise Forbidden(code="not_catalog_admin", detail="只有该区划的事项管理员（改革办或系统管理员）可以维护事项")


def _local(session: Session, principal: Principal, local_matter_id: int) -> LocalMatter:
    local = session.get(LocalMatter, local_matter_id)
    if local is None:
        raise NotFound(code="matter_not_found", detail="事项不存在")
    _require_admin(principal, region_id=local.region_id)
    return local


@router.get("", summary="事项大厅：按关键字、区划、办理单位查找事项")
def find(
    request: Request,
    _principal: CurrentPrincipal,
    keyword: Annotated[str, Query(max_length=100)] = "",
    region_id: int | None = None,
    handling_unit_id: int | None = None,
    status: str = "published",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Page[MatterSummary]:
    with reading(request) as session:
        return queries.find_matters(
            session, keyword=keyword, region_id=region_id, handling_unit_id=handling_unit_id, status=status,
            limit=limit, cursor=cursor,
        )


@router.get("/{local_matter_id}", summary="事项详情：当前版本的表单、材料、时限和流程")
def detail(local_matter_id: int, request: Request, _principal: CurrentPrincipal) -> MatterDetail:
    with reading(request) as session:
        return queries.matter_detail(session, local_matter_id=local_matter_id)


@router.post("/process/import-bpmn", summary="把 BPMN 2.0 文件转换为流程定义（不保存；有问题时逐个列出元素和行号）")
def import_bpmn(
    _principal: CurrentPrincipal, file: Annotated[UploadFile, File(description=".bpmn 文件（至多 2 MB）")]
) -> dict[str, Any]:
    return bpmn_io.process_from_bpmn(file.file.read(bpmn_io.MAX_BPMN_BYTES + 1))


@router.get("/versions/{version_id}/process.bpmn", summary="以 BPMN 2.0 导出某个版本的流程", response_class=Response)
def export_bpmn(version_id: int, request: Request, _principal: CurrentPrincipal) -> Response:
    with reading(request) as session:
        data = bpmn_io.bpmn_of_version(session, version_id)
    headers = {"Content-Disposition": f'attachment; filename="process-{version_id}.bpmn"',
               "X-Content-Type-Options": "nosniff"}
    return Response(data, media_type="application/xml", headers=headers)


@router.post("/base", status_code=201, summary="新建基本目录事项")
def create_base(body: BaseMatterIn, request: Request, principal: CurrentPrincipal) -> BaseMatterOut:
    _require_admin(principal)
    with writing(request) as session:
        base = BaseMatterOut.model_validate(catalog.create_base_matter(session, **body.model_dump()))
        audit(session, request, principal, "catalog.base_matter_created", target_kind="base_matter",
              target_id=base.id, code=base.code)
        return base


@router.post("", status_code=201, summary="新建实施清单事项（某区划某单位实施一个基本目录事项）")
def create_local(body: LocalMatterIn, request: Request, principal: CurrentPrincipal) -> MatterDetail:
    _require_admin(principal, region_id=body.region_id)
    with writing(request) as session:
        base = session.get(BaseMatter, body.base_matter_id)
        unit = directory.unit_by_id(session, unit_id=body.handling_unit_id)
        problems = []
        if base is None:
            problems.append(FieldProblem("base_matter_id", "基本目录事项不存在", "not_found"))
        if unit is None or not unit.active:
            problems.append(FieldProblem("handling_unit_id", "办理单位不存在或已撤销", "not_found"))
        elif unit.region_id != body.region_id:
            problems.append(FieldProblem("handling_unit_id", "办理单位不属于该区划", "wrong_region"))
        if problems:
            raise InvalidInput(code="matter_invalid", detail="事项信息有误", errors=problems)
        assert base is not None
        local = catalog.create_local_matter(
            session, base=base, region_id=body.region_id, handling_unit_id=body.handling_unit_id, code=body.code,
            name=body.name,
        )
        audit(session, request, principal, "catalog.local_matter_created", target_kind="local_matter",
              target_id=local.id, code=local.code)
        return queries.matter_detail(session, local_matter_id=local.id)


@router.post("/{local_matter_id}/versions", status_code=201, summary="新建草稿版本（创建时即完整校验）")
def draft(local_matter_id: int, body: VersionIn, request: Request, principal: CurrentPrincipal) -> VersionOut:
    with writing(request) as session:
        local = _local(session, principal, local_matter_id)
        version = catalog.draft_version(
            session, local=local, form_schema=body.form_schema, materials=body.materials, process=body.process,
            promised_limit_days=body.promised_limit_days, kind=body.kind, situations=body.situations,
        )
        audit(session, request, principal, "catalog.version_drafted", target_kind="matter_version",
              target_id=version.id, local_matter_id=local_matter_id, number=version.number)
        return queries.version_out(session, version, with_process=True)


@router.post("/versions/{version_id}/publish", summary="发布版本（上一发布版本随之废止）")
def publish(version_id: int, request: Request, principal: CurrentPrincipal) -> VersionOut:
    with writing(request) as session:
        version = queries.require_version(session, version_id=version_id)
        _local(session, principal, version.local_matter_id)
        if version.status == "draft":  # checked whole first: every problem that stops it, at once
            version = drafts.editable(session, version_id)
            published = drafts.publish_draft(session, version=version)
        else:
            published = catalog.publish_version(session, version_id=version_id)
        audit(session, request, principal, "catalog.version_published", target_kind="matter_version",
              target_id=version_id, local_matter_id=published.local_matter_id, number=published.number)
        return queries.version_out(session, published)


@router.post("/{local_matter_id}/retire", summary="废止事项（已发布版本随之废止，在办办件不受影响）")
def retire(local_matter_id: int, request: Request, principal: CurrentPrincipal) -> MatterDetail:
    with writing(request) as session:
        _local(session, principal, local_matter_id)
        catalog.retire_matter(session, local_matter_id=local_matter_id)
        audit(session, request, principal, "catalog.matter_retired", target_kind="local_matter",
              target_id=local_matter_id)
        return queries.matter_detail(session, local_matter_id=local_matter_id)
