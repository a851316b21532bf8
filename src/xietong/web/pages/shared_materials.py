"""共享材料库 pages under /account/materials: a unit's standing documents for its members — the list with each
kind's current version and validity, upload (a new kind, or a new version of one), a document's history with
the cases filed with each version — and the results of the unit's concluded cases that applications may reuse.
The same services as /api/v1/shared-materials; the wizard's side is ``matters.py`` + ``_shared.html``."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from starlette.datastructures import FormData, UploadFile

from xietong.directory.models import Unit
from xietong.errors import DomainError, FieldProblem, InvalidInput
from xietong.materials import queries, service
from xietong.materials.kinds import KINDS
from xietong.security.principal import Principal
from xietong.web.api.shared_materials import record_upload
from xietong.web.deps import reading, settings_of, writing
from xietong.web.pages.access import PagePrincipal
from xietong.web.pages.forms import with_posted_form
from xietong.web.pages.rendering import render
from xietong.web.problems import STATUS_BY_KIND

router = APIRouter()
STATES = {"valid": "有效", "expired": "已过期", "not_yet": "尚未生效"}


@router.get("/account/materials", include_in_schema=False)
def catalogue_page(request: Request, principal: PagePrincipal, unit_id: int | None = None) -> Response:
    return _catalogue(request, principal, unit_id)


def _catalogue(request: Request, principal: Principal, unit_id: int | None, *, error: DomainError | None = None,
               posted: dict[str, str] | None = None) -> Response:
    with reading(request) as session:
        units = list(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(sorted(principal.unit_ids)))
                                     .order_by(Unit.id)))
        chosen = unit_id if unit_id is not None else (units[0].id if units else None)
        catalogue = None
        if chosen is not None:
            catalogue = queries.unit_catalogue(session, principal=principal, unit_id=chosen,
                                               today=service.today(settings_of(request).timezone))
    context = {"units": units, "catalogue": catalogue, "states": STATES, "kinds": KINDS, "error": error,
               "posted": posted or {}, "done": request.query_params.get("done", "")}
    status = STATUS_BY_KIND.get(error.kind, 422) if error else 200
    return render(request, "materials/index.html", context, status_code=status)


@router.post("/account/materials", include_in_schema=False)
async def upload(request: Request, principal: PagePrincipal) -> Response:
    return await with_posted_form(request, _upload, request, principal)


def _upload(request: Request, principal: Principal, data: FormData) -> Response:
    posted = {k: v for k, v in data.items() if isinstance(v, str)}
    unit = posted.get("unit_id", "")
    unit_id = int(unit) if unit.isdigit() else None
    kind = (posted.get("kind_other") or "").strip() or posted.get("kind", "")
    try:
        material_id = _store(request, principal, data, unit_id=unit_id, kind=kind)
    except DomainError as exc:
        if exc.kind == "unauthenticated":
            raise
        return _catalogue(request, principal, unit_id, error=exc, posted=posted)
    return RedirectResponse(f"/account/materials/{material_id}?done=uploaded", status_code=303)


@router.get("/account/materials/{shared_material_id}", include_in_schema=False)
def detail_page(shared_material_id: int, request: Request, principal: PagePrincipal) -> Response:
    return _detail(request, principal, shared_material_id)


def _detail(request: Request, principal: Principal, material_id: int, *, error: DomainError | None = None,
            posted: dict[str, str] | None = None) -> Response:
    with reading(request) as session:
        detail = queries.material_detail(session, principal=principal, material_id=material_id,
                                         today=service.today(settings_of(request).timezone))
    context = {"d": detail, "states": STATES, "error": error, "posted": posted or {},
               "done": request.query_params.get("done", "")}
    status = STATUS_BY_KIND.get(error.kind, 422) if error else 200
    return render(request, "materials/detail.html", context, status_code=status)


@router.post("/account/materials/{shared_material_id}/versions", include_in_schema=False)
async def new_version(shared_material_id: int, request: Request, principal: PagePrincipal) -> Response:
    return await with_posted_form(request, _new_version, request, principal, shared_material_id)


def _new_version(request: Request, principal: Principal, material_id: int, data: FormData) -> Response:
    posted = {k: v for k, v in data.items() if isinstance(v, str)}
    with reading(request) as session:
        material = service.material_of(session, principal=principal, material_id=material_id)
        unit_id, kind = material.unit_id, material.kind
    try:
        _store(request, principal, data, unit_id=unit_id, kind=kind)
    except DomainError as exc:
        if exc.kind == "unauthenticated":
            raise
        return _detail(request, principal, material_id, error=exc, posted=posted)
    return RedirectResponse(f"/account/materials/{material_id}?done=uploaded", status_code=303)


def _store(request: Request, principal: Principal, data: FormData, *, unit_id: int | None, kind: str) -> int:
    """Check the posted dates and file, keep the version; the shared material's id."""
    file = data.get("file")
    problems: list[FieldProblem] = []
    days = {name: _day(data.get(name), name, problems) for name in ("valid_from", "valid_until")}
    if not isinstance(file, UploadFile) or not file.filename:
        problems.append(FieldProblem("file", "请选择要上传的文件", "file_required"))
    if unit_id is None:
        problems.append(FieldProblem("unit_id", "请选择单位", "required"))
    if problems:
        raise InvalidInput(code="shared_material_invalid", detail=problems[0].message, errors=problems)
    assert isinstance(file, UploadFile) and unit_id is not None
    note = data.get("note")
    with writing(request) as session:
        version = service.add_version(
            session, principal=principal, unit_id=unit_id, kind=kind, filename=file.filename or "", stream=file.file,
            declared_type=file.content_type, settings=settings_of(request), valid_from=days["valid_from"],
            valid_until=days["valid_until"], note=note if isinstance(note, str) else "",
        )
        record_upload(session, request, principal, version, unit_id=unit_id)
        return version.shared_material_id


def _day(value: Any, name: str, problems: list[FieldProblem]) -> date | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        problems.append(FieldProblem(name, f"日期格式应为 年-月-日：{value[:20]}", "bad_date"))
        return None
