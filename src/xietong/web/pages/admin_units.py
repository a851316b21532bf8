"""Units and posts in 单位与人员: creating a unit (under a parent, in a region), editing it — names, USCC, function,
region, its parent (moving the whole subtree) and its 分管领导 —, deactivating it (撤销) after its consequences are
shown (people, open tasks, published matters), and creating, renaming and removing its posts with who holds each.

Every refusal of the service comes back next to its field with what was typed. Permissions as the API's
(``web/api/directory.py``): the unit must be covered; a new or moved unit's parent (or region, at the top) too.
Merging and splitting units (机构改革) is not here."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from xietong.directory import service as directory
from xietong.directory.schemas import PostOut, UnitIn, UnitUpdate, field_problems
from xietong.errors import DomainError, FieldProblem, Forbidden
from xietong.security.masking import people_for
from xietong.security.permissions import may_administer, may_administer_unit
from xietong.security.principal import Principal
from xietong.web.deps import audit, reading, writing
from xietong.web.pages.access import PagePrincipal
from xietong.web.pages.admin import require_area
from xietong.web.pages.admin_directory import require_unit
from xietong.web.pages.admin_picker import regions_of, unit_choice, unit_choices
from xietong.web.pages.forms import with_posted_form
from xietong.web.pages.rendering import render

router = APIRouter()
UNIT_FIELDS = {"code": "单位编码", "name": "单位名称", "short_name": "简称", "uscc": "统一社会信用代码",
               "function": "职能", "region_code": "行政区划", "parent_code": "上级单位", "parent_id": "上级单位",
               "sort": "排序"}
TEXT_FIELDS = {"code": 64, "name": 200, "short_name": 100, "uscc": 30, "function": 50, "sort": 9}
STATUS = {"invalid": 422, "conflict": 409, "not_found": 404}
SAVED = {"1": "单位信息已保存", "post": "岗位已保存", "removed": "岗位已删除", "leaders": "分管领导已更新"}


def _text(form: FormData, key: str, limit: int = 200) -> str:
    value = form.get(key)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18 else None


def _by_field(problems: list[FieldProblem]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for problem in problems:
        key = problem.field.split(".")[0]
        key = "parent" if key in ("parent_code", "parent_id") else key
        key = "region" if key == "region_code" else key
        found.setdefault(key if key in {*TEXT_FIELDS, "parent", "region"} else "form", []).append(problem.message)
    return found


def _values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {key: _text(form, key, limit) for key, limit in TEXT_FIELDS.items()}
    values.update(region_id=_int(form.get("region")), parent_id=_int(form.get("parent-unit")),
                  parent_q=_text(form, "parent-q", 50), parent_region=_int(form.get("parent-region")),
                  top=form.get("top") == "on")
    return values


def _form_context(session: Session, principal: Principal, values: dict[str, Any]) -> dict[str, Any]:
    chosen = unit_choice(session, values.get("parent_id"))
    return {"values": values, "regions": regions_of(session),
            "parent_choices": unit_choices(session, principal, "directory", keyword=values.get("parent_q", ""),
                                           region_id=values.get("parent_region"), chosen=chosen),
            "functions": directory.unit_functions(session)}


# --- a new unit ----------------------------------------------------------------------------------------------


def _new_form(request: Request, principal: Principal, values: dict[str, Any], *, detail: str = "",
              by_field: dict[str, list[str]] | None = None, status: int = 200) -> Response:
    with reading(request) as session:
        context = _form_context(session, principal, values)
    context.update(unit=None, detail=detail, by_field=by_field or {}, labels=UNIT_FIELDS)
    return render(request, "admin/unit.html", context, status_code=status)


@router.get("/admin/directory/units/new", include_in_schema=False)
def new_unit(request: Request, principal: PagePrincipal, parent: int | None = None) -> Response:
    require_area(principal, "directory")
    values: dict[str, Any] = {"top": parent is None}
    if parent is not None:
        with reading(request) as session:
            unit = require_unit(session, principal, parent)
            values.update(parent_id=unit.id, region_id=unit.region_id)
    return _new_form(request, principal, values)


@router.post("/admin/directory/units", include_in_schema=False)
async def create_unit(request: Request, principal: PagePrincipal) -> Response:
    return await with_posted_form(request, _create, request, principal)


def _region_code(session: Session, region_id: int | None) -> str:
    region = next((r for r in directory.regions(session) if r.id == region_id), None)
    return region.code if region is not None else ""


def _parent(session: Session, values: dict[str, Any]) -> tuple[int | None, list[str]]:
    """The chosen parent's id (None at the top); a searched word naming no chosen unit is the parent's error."""
    if values["top"]:
        return None, []
    if values["parent_id"] is not None:
        return values["parent_id"], []
    if values["parent_q"]:
        by_code = directory.unit_by_code(session, code=values["parent_q"])
        if by_code is not None:
            values["parent_id"] = by_code.id
            return by_code.id, []
    return None, ["请在查找结果中选择上级单位，或勾选“顶级单位”"]


def _create(request: Request, principal: Principal, form: FormData) -> Response:
    require_area(principal, "directory")
    values = _values(form)
    if form.get("find"):
        return _new_form(request, principal, values)
    with reading(request) as session:
        parent, parent_errors = _parent(session, values)
        region_code = _region_code(session, values["region_id"])
    if parent_errors:
        return _new_form(request, principal, values, detail="请选择上级单位", by_field={"parent": parent_errors},
                         status=422)
    try:
        data = UnitIn(code=values["code"], name=values["name"], short_name=values["short_name"],
                      uscc=values["uscc"] or None, function=values["function"] or None, region_code=region_code,
                      parent_id=parent, sort=_int(values["sort"]) or 0)
        with writing(request) as session:
            _check_place(session, principal, parent, data.region_code)
            unit = directory.create_unit(session, data=data)
            audit(session, request, principal, "directory.unit_created", target_kind="unit", target_id=unit.id,
                  data=data.model_dump())
            unit_id = unit.id
    except ValidationError as exc:
        return _new_form(request, principal, values, detail="输入有误，请按提示修改",
                         by_field=_by_field(field_problems(exc)), status=422)
    except DomainError as exc:
        if exc.kind == "forbidden":
            raise
        return _new_form(request, principal, values, detail=exc.detail, by_field=_by_field(exc.errors),
                         status=STATUS.get(exc.kind, 422))
    return RedirectResponse(f"/admin/directory/units/{unit_id}", status_code=303)


def _check_place(session: Session, principal: Principal, parent_id: int | None, region_code: str) -> None:
    """A unit goes under a parent this administrator covers, or at the top of a region they cover."""
    parent = directory.unit_by_id(session, unit_id=parent_id) if parent_id is not None else None
    if parent is not None:
        if not may_administer_unit(principal, "directory", parent):
            raise Forbidden(code="not_directory_admin", detail=f"您不能在单位“{parent.name}”之下新增或移入单位")
        return
    region = directory.region_by_code(session, code=region_code) if region_code else None
    if region is not None and not may_administer(principal, "directory", region_id=region.id):
        raise Forbidden(code="not_directory_admin", detail=f"您不能在{region.name}新增顶级单位")


# --- one unit: its attributes, posts and leaders ------------------------------------------------------------


def _unit_values(unit: Any) -> dict[str, Any]:
    return {"code": unit.code, "name": unit.name, "short_name": unit.short_name, "uscc": unit.uscc or "",
            "function": unit.function or "", "sort": str(unit.sort), "region_id": unit.region_id,
            "parent_id": unit.parent_id, "parent_q": "", "parent_region": None, "top": unit.parent_id is None}


def unit_page(request: Request, principal: Principal, unit_id: int, *, values: dict[str, Any] | None = None,
              detail: str = "", by_field: dict[str, list[str]] | None = None,
              post_errors: dict[str, list[str]] | None = None, post_values: dict[str, str] | None = None,
              saved: str = "", status: int = 200) -> Response:
    """The unit's page: the attribute form, the posts with their holders, the 分管领导."""
    with reading(request) as session:
        row = require_unit(session, principal, unit_id)
        unit = directory.unit_out(session, unit_id=row.id)
        context = _form_context(session, principal, values or _unit_values(unit))
        holders = directory.post_holders(session, unit_id=unit.id)
        posts = [(PostOut.model_validate(post), [(h.id, h.name) for h in holders.get(post.id, [])])
                 for post in directory.posts_of(session, unit_id=unit.id)]
        members = people_for(principal, directory.people_out(
            session, people=directory.people_in_unit(session, unit_id=unit.id)))
        leaders = {p.id for p in directory.leader_of(session, unit_id=unit.id)}
        path = directory.unit_paths(session, units=[row])[unit.id]
    context.update(unit=unit, path=path, posts=posts, members=members, leaders=leaders, detail=detail,
                   by_field=by_field or {}, labels=UNIT_FIELDS, post_errors=post_errors or {},
                   post_values=post_values or {}, saved=SAVED.get(saved, ""))
    return render(request, "admin/unit.html", context, status_code=status)


@router.get("/admin/directory/units/{unit_id}", include_in_schema=False)
def edit_unit(unit_id: int, request: Request, principal: PagePrincipal, saved: str = "") -> Response:
    require_area(principal, "directory")
    return unit_page(request, principal, unit_id, saved=saved[:20])


@router.post("/admin/directory/units/{unit_id}", include_in_schema=False)
async def update_unit(unit_id: int, request: Request, principal: PagePrincipal) -> Response:
    return await with_posted_form(request, _update, request, principal, unit_id)


def _update(request: Request, principal: Principal, unit_id: int, form: FormData) -> Response:
    require_area(principal, "directory")
    values = _values(form)
    with reading(request) as session:
        unit = require_unit(session, principal, unit_id)
        values["code"] = unit.code
        current_parent = unit.parent_id
        parent, parent_errors = _parent(session, values)
        region_code = _region_code(session, values["region_id"])
    if form.get("find"):
        return unit_page(request, principal, unit_id, values=values)
    if parent_errors:
        return unit_page(request, principal, unit_id, values=values, detail="请选择上级单位",
                         by_field={"parent": parent_errors}, status=422)
    changes: dict[str, Any] = {"name": values["name"], "short_name": values["short_name"],
                               "uscc": values["uscc"] or None, "function": values["function"] or None,
                               "region_code": region_code or None, "sort": _int(values["sort"]) or 0}
    if parent != current_parent:
        changes["parent_id"] = parent
    try:
        data = UnitUpdate(**changes)
        with writing(request) as session:
            if data.moves or data.region_code:
                _check_place(session, principal, parent, region_code)
            directory.update_unit(session, unit_id=unit_id, data=data)
            audit(session, request, principal, "directory.unit_updated", target_kind="unit", target_id=unit_id,
                  changes=data.model_dump(exclude_unset=True))
    except ValidationError as exc:
        return unit_page(request, principal, unit_id, values=values, detail="输入有误，请按提示修改",
                         by_field=_by_field(field_problems(exc)), status=422)
    except DomainError as exc:
        if exc.kind == "forbidden":
            raise
        return unit_page(request, principal, unit_id, values=values, detail=exc.detail,
                         by_field=_by_field(exc.errors), status=STATUS.get(exc.kind, 422))
    return RedirectResponse(f"/admin/directory/units/{unit_id}?saved=1", status_code=303)
