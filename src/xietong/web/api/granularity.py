"""/api/v1/matters: splitting a base matter into sub-items, merging local matters into one joint matter (一件事),
and reading a matter's lineage — for the catalog's administrators (改革办, system administrator).

Both operations take ``dry_run`` (the plan, nothing written) and ``publish`` (the new matters published at once,
their predecessors retired; otherwise they stay drafts and the predecessors retire when they are published).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from xietong.catalog.granularity import SubItem, lineage_of, plan_split, split_matter
from xietong.catalog.merging import merge_matters, plan_merge
from xietong.catalog.models import LocalMatter
from xietong.catalog.schemas import GranularityOut, LineageOut, MergeIn, SplitIn
from xietong.errors import Forbidden, NotFound
from xietong.security.permissions import may_administer
from xietong.security.principal import Principal
from xietong.web.deps import CurrentPrincipal, audit, reading, writing

router = APIRouter(prefix="/matters", tags=["事项库"])


def _require_admin(principal: Principal, *, region_id: int | None = None) -> None:
    if not may_administer(principal, "catalog", region_id=region_id):
        raise Forbidden(code="not_catalog_admin",
                        detail="只有该区划的事项管理员（改革办或系统管理员）可以拆分、合并事项")


def _items(body: SplitIn) -> list[SubItem]:
    return [SubItem(name=i.name, materials=None if i.materials is None else tuple(i.materials),
                    fields=None if i.fields is None else tuple(i.fields)) for i in body.items]


@router.post("/base/{base_matter_id}/split", status_code=201, response_model=GranularityOut,
             summary="拆分事项：一个基本目录事项（及其各地实施清单）拆为若干子项；dry_run 只返回方案")
def split(base_matter_id: int, body: SplitIn, request: Request, principal: CurrentPrincipal) -> JSONResponse:
    _require_admin(principal)  # a base matter is the whole city's
    if body.dry_run:
        with reading(request) as session:
            plan = plan_split(session, base_matter_id=base_matter_id, items=_items(body))
            out = GranularityOut(dry_run=True, plan=plan.described())
        return JSONResponse(out.model_dump(), status_code=200)
    with writing(request) as session:
        result = split_matter(session, base_matter_id=base_matter_id, items=_items(body), reason=body.reason,
                              by_id=principal.id if principal.kind == "person" else None, publish=body.publish)
        audit(session, request, principal, "catalog.matter_split", target_kind="base_matter",
              target_id=base_matter_id, operation=result.operation, reason=body.reason, published=body.publish,
              children=[c.code for c in result.plan.children], local_matter_ids=result.local_ids)
        out = GranularityOut(dry_run=False, operation=result.operation, plan=result.plan.described(),
                             local_matter_ids=result.local_ids, version_ids=result.version_ids)
    return JSONResponse(out.model_dump(), status_code=201)


@router.post("/merge", status_code=201, response_model=GranularityOut,
             summary="合并为一件事：同一区划的若干事项合为一个联办事项，材料去重，流程依次或并联；dry_run 只返回方案")
def merge(body: MergeIn, request: Request, principal: CurrentPrincipal) -> JSONResponse:
    with reading(request) as session:
        regions = set(session.scalars(select(LocalMatter.region_id).where(LocalMatter.id.in_(body.local_matter_ids))))
    if not regions:
        raise NotFound(code="matter_not_found", detail="事项不存在")
    for region_id in regions:
        _require_admin(principal, region_id=region_id)
    if body.dry_run:
        with reading(request) as session:
            plan = plan_merge(session, local_matter_ids=body.local_matter_ids, code=body.code, name=body.name,
                              lead_id=body.lead_id, layout=body.layout)
            out = GranularityOut(dry_run=True, plan=plan.described())
        return JSONResponse(out.model_dump(), status_code=200)
    with writing(request) as session:
        result = merge_matters(session, local_matter_ids=body.local_matter_ids, code=body.code, name=body.name,
                               reason=body.reason, by_id=principal.id if principal.kind == "person" else None,
                               lead_id=body.lead_id, publish=body.publish, layout=body.layout)
        described = result.plan.described()
        audit(session, request, principal, "catalog.matters_merged", target_kind="local_matter",
              target_id=result.local_id, operation=result.operation, reason=body.reason, published=body.publish,
              originals=[c for _, c in result.plan.originals], merged_materials=described["merged_materials"])
        out = GranularityOut(dry_run=False, operation=result.operation, plan=described,
                             local_matter_ids=[result.local_id], version_ids=[result.version_id])
    return JSONResponse(out.model_dump(), status_code=201)


@router.get("/{local_matter_id}/lineage", response_model=LineageOut,
            summary="事项沿革：同一沿革组的事项，以及它们之间的拆分与合并（谁变成了谁）")
def lineage(local_matter_id: int, request: Request, principal: CurrentPrincipal) -> LineageOut:
    with reading(request) as session:
        local = session.get(LocalMatter, local_matter_id)
        if local is None:
            raise NotFound(code="matter_not_found", detail="事项不存在")
        _require_admin(principal, region_id=local.region_id)
        return lineage_of(session, local_matter_id=local_matter_id)
