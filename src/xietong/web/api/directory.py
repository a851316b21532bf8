"""/api/v1/directory: regions, the unit tree, posts, people and memberships; .xlsx import and export.

Anyone logged in may read the directory (it is the staff phone book); writing needs the system
administrator role over the unit's region or subtree (``may_administer(…, "directory")``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from sqlalchemy.orm import Session

from xietong.directory import service as directory
from xietong.directory import xlsx
from xietong.directory.schemas import (
    MembershipIn,
    PersonIn,
    PersonOut,
    PersonUpdate,
    PostIn,
    PostOut,
    RegionIn,
    RegionOut,
    UnitIn,
    UnitNode,
    UnitOut,
    UnitUpdate,
)
from xietong.errors import Forbidden, InvalidInput, TooLarge
from xietong.security.masking import people_for
from xietong.security.permissions import may_administer, may_administer_person
from xietong.security.principal import Principal
from xietong.web.deps import CurrentPrincipal, audit, reading, writing

router = APIRouter(prefix="/directory", tags=["单位库与人员库"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_XLSX_BYTES = 10 * 1024 * 1024


def _require_admin(principal: Principal, *, region_id: int | None = None, unit_path: str | None = None) -> None:
    if not may_administer(principal, "directory", region_id=region_id, unit_path=unit_path):
        raise Forbidden(code="not_directory_admin", detail="只有该范围的系统管理员可以维护单位库和人员库")


def _require_unit_admin(session: Session, principal: Principal, unit_id: int) -> None:
    unit = directory.require_unit(session, unit_id=unit_id)
    _require_admin(principal, region_id=unit.region_id, unit_path=unit.path)


def _require_person_admin(session: Session, principal: Principal, person_id: int) -> None:
    person = directory.person_out(session, person_id=person_id)
    units = [directory.require_unit(session, unit_id=m.unit_id) for m in person.memberships]
    if not may_administer_person(principal, "directory", units):
        _require_admin(principal)


def _covers(principal: Principal) -> directory.Covers:
    return lambda unit: may_administer(principal, "directory", region_id=unit.region_id, unit_path=unit.path)


def _target_unit_admin(session: Session, principal: Principal, region_code: str, parent_id: int | None) -> None:
    if parent_id is not None:
        _require_unit_admin(session, principal, parent_id)
        return
    region = directory.region_ref(session, code=region_code)
    _require_admin(principal, region_id=region.id)


def _region_code(session: Session, region_id: int) -> str:
    return next((r.code for r in directory.regions(session) if r.id == region_id), "")


# --- regions -------------------------------------------------------------------------------------------------


@router.get("/regions", summary="行政区划列表")
def list_regions(request: Request, _principal: CurrentPrincipal) -> list[RegionOut]:
    with reading(request) as session:
        return [RegionOut.model_validate(r) for r in directory.regions(session)]


@router.post("/regions", status_code=201, summary="新建行政区划")
def create_region(body: RegionIn, request: Request, principal: CurrentPrincipal) -> RegionOut:
    _require_admin(principal)
    with writing(request) as session:
        region = RegionOut.model_validate(directory.create_region(session, data=body))
        audit(session, request, principal, "directory.region_created", target_kind="region", target_id=region.id,
              code=region.code)
        return region


# --- units ---------------------------------------------------------------------------------------------------


@router.get("/units", summary="单位树（可按区划），或按关键字搜索单位")
def list_units(
    request: Request,
    _principal: CurrentPrincipal,
    region_id: int | None = None,
    keyword: Annotated[str, Query(max_length=50)] = "",
    include_inactive: bool = False,
) -> list[UnitNode]:
    with reading(request) as session:
        if keyword.strip():
            found = directory.find_units(session, keyword=keyword, region_id=region_id)
            return [UnitNode.model_validate(u.model_dump()) for u in directory.units_out(session, units=found)]
        return directory.unit_tree(session, region_id=region_id, include_inactive=include_inactive)


@router.get("/units/{unit_id}", summary="单位详情")
def get_unit(unit_id: int, request: Request, _principal: CurrentPrincipal) -> UnitOut:
    with reading(request) as session:
        return directory.unit_out(session, unit_id=unit_id)


@router.post("/units", status_code=201, summary="新建单位")
def create_unit(body: UnitIn, request: Request, principal: CurrentPrincipal) -> UnitOut:
    with writing(request) as session:
        parent = directory.unit_by_code(session, code=body.parent_code) if body.parent_code else None
        _target_unit_admin(session, principal, body.region_code, parent.id if parent else body.parent_id)
        unit = directory.create_unit(session, data=body)
        audit(session, request, principal, "directory.unit_created", target_kind="unit", target_id=unit.id,
              data=body.model_dump())
        return directory.unit_out(session, unit_id=unit.id)


@router.patch("/units/{unit_id}", summary="修改单位（含调整上级）")
def update_unit(unit_id: int, body: UnitUpdate, request: Request, principal: CurrentPrincipal) -> UnitOut:
    with writing(request) as session:
        _require_unit_admin(session, principal, unit_id)
        if body.moves or body.region_code is not None:  # where it goes must be this administrator's too
            unit = directory.require_unit(session, unit_id=unit_id)
            parent = directory.unit_by_code(session, code=body.parent_code) if body.parent_code else None
            parent_id = parent.id if parent else (body.parent_id if body.moves else unit.parent_id)
            _target_unit_admin(session, principal, body.region_code or _region_code(session, unit.region_id), parent_id)
        directory.update_unit(session, unit_id=unit_id, data=body)
        audit(session, request, principal, "directory.unit_updated", target_kind="unit", target_id=unit_id,
              changes=body.model_dump(exclude_unset=True))
        return directory.unit_out(session, unit_id=unit_id)


@router.delete("/units/{unit_id}", summary="撤销单位及其下级（停用，不删除历史）")
def deactivate_unit(unit_id: int, request: Request, principal: CurrentPrincipal) -> dict[str, int]:
    with writing(request) as session:
        _require_unit_admin(session, principal, unit_id)
        count = directory.deactivate_unit(session, unit_id=unit_id)
        audit(session, request, principal, "directory.unit_deactivated", target_kind="unit", target_id=unit_id,
              units=count)
        return {"deactivated": count}


@router.get("/units/{unit_id}/posts", summary="单位的岗位")
def list_posts(unit_id: int, request: Request, _principal: CurrentPrincipal) -> list[PostOut]:
    with reading(request) as session:
        directory.require_unit(session, unit_id=unit_id)
        return [PostOut.model_validate(p) for p in directory.posts_of(session, unit_id=unit_id)]


@router.post("/units/{unit_id}/posts", status_code=201, summary="新建岗位")
def create_post(unit_id: int, body: PostIn, request: Request, principal: CurrentPrincipal) -> PostOut:
    with writing(request) as session:
        _require_unit_admin(session, principal, unit_id)
        post = PostOut.model_validate(directory.create_post(session, unit_id=unit_id, data=body))
        audit(session, request, principal, "directory.post_created", target_kind="post", target_id=post.id,
              unit_id=unit_id, code=post.code)
        return post


@router.get("/units/{unit_id}/people", summary="单位的人员（可按岗位）")
def list_people(
    unit_id: int, request: Request, principal: CurrentPrincipal, post_code: str | None = None
) -> list[PersonOut]:
    with reading(request) as session:
        directory.require_unit(session, unit_id=unit_id)
        people = directory.people_in_unit(session, unit_id=unit_id, post_code=post_code)
        return people_for(principal, directory.people_out(session, people=people))  # phones masked


# --- people --------------------------------------------------------------------------------------------------


@router.get("/people/{person_id}", summary="人员详情")
def get_person(person_id: int, request: Request, principal: CurrentPrincipal) -> PersonOut:
    with reading(request) as session:
        (person,) = people_for(principal, [directory.person_out(session, person_id=person_id)])
        return person


@router.post("/people", status_code=201, summary="新建人员（可同时任职）")
def create_person(body: PersonIn, request: Request, principal: CurrentPrincipal) -> PersonOut:
    with writing(request) as session:
        if not body.memberships:
            _require_admin(principal)
        for membership in body.memberships:
            unit = (
                directory.require_unit(session, unit_id=membership.unit_id)
                if membership.unit_id is not None
                else directory.unit_by_code(session, code=membership.unit_code or "")
            )
            if unit is not None:  # an unknown unit is reported by the service with its field
                _require_admin(principal, region_id=unit.region_id, unit_path=unit.path)
        person = directory.create_person(session, data=body)
        audit(session, request, principal, "directory.person_created", target_kind="person", target_id=person.id,
              username=body.username)
        return directory.person_out(session, person_id=person.id)


@router.patch("/people/{person_id}", summary="修改人员")
def update_person(person_id: int, body: PersonUpdate, request: Request, principal: CurrentPrincipal) -> PersonOut:
    with writing(request) as session:
        _require_person_admin(session, principal, person_id)
        directory.update_person(session, person_id=person_id, data=body, covers=_covers(principal))
        audit(session, request, principal, "directory.person_updated", target_kind="person", target_id=person_id,
              changes=body.model_dump(exclude_unset=True))
        return directory.person_out(session, person_id=person_id)


@router.put("/people/{person_id}/memberships", summary="重设人员在本人管理单位内的任职（其他单位的任职保持不变）")
def replace_memberships(
    person_id: int, body: list[MembershipIn], request: Request, principal: CurrentPrincipal
) -> PersonOut:
    with writing(request) as session:
        _require_person_admin(session, principal, person_id)
        directory.merge_memberships(session, person_id=person_id, memberships=body, covers=_covers(principal))
        audit(session, request, principal, "directory.memberships_replaced", target_kind="person",
              target_id=person_id, memberships=[m.model_dump() for m in body])
        return directory.person_out(session, person_id=person_id)


# --- spreadsheets --------------------------------------------------------------------------------------------


Importer = Callable[..., xlsx.ImportSummary]


def _import(request: Request, principal: Principal, upload: UploadFile, importer: Importer, action: str
            ) -> dict[str, int]:
    """Check the file, then import it in one transaction (sync: the work is database-bound, not awaitable)."""
    _require_admin(principal)
    data = upload.file.read(MAX_XLSX_BYTES + 1)
    if len(data) > MAX_XLSX_BYTES:
        raise TooLarge(code="file_too_large", detail=f"文件不能超过 {MAX_XLSX_BYTES // 1024 // 1024} MB")
    if not data.startswith(b"PK"):
        raise InvalidInput(code="not_xlsx", detail="请上传 .xlsx 格式的 Excel 文件")
    with writing(request) as session:
        summary = importer(session, data=data)
        audit(session, request, principal, action, file=upload.filename, created=summary.created,
              updated=summary.updated)
    return {"created": summary.created, "updated": summary.updated}


XlsxUpload = Annotated[UploadFile, File(description=".xlsx 文件")]


@router.post("/import/units", summary="从 .xlsx 导入单位（全部成功或全部不导入）")
def import_units(request: Request, principal: CurrentPrincipal, file: XlsxUpload) -> dict[str, int]:
    return _import(request, principal, file, xlsx.import_units, "directory.units_imported")


@router.post("/import/people", summary="从 .xlsx 导入人员（全部成功或全部不导入）")
def import_people(request: Request, principal: CurrentPrincipal, file: XlsxUpload) -> dict[str, int]:
    return _import(request, principal, file, xlsx.import_people, "directory.people_imported")


def _xlsx_response(data: bytes, filename: str) -> Response:
    headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{filename}", "X-Content-Type-Options": "nosniff"}
    return Response(data, media_type=XLSX, headers=headers)


@router.get("/export/units", summary="导出单位为 .xlsx", response_class=Response)
def export_units(request: Request, _principal: CurrentPrincipal) -> Response:
    with reading(request) as session:
        return _xlsx_response(xlsx.export_units(session), "units.xlsx")


@router.get("/export/people", summary="导出人员为 .xlsx", response_class=Response)
def export_people(request: Request, principal: CurrentPrincipal) -> Response:
    _require_admin(principal)  # phone numbers: personal data, administrators only
    with reading(request) as session:
        return _xlsx_response(xlsx.export_people(session), "people.xlsx")
