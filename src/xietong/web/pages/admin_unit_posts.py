"""A unit's posts, leaders and deactivation in 单位与人员: create, rename and remove a post (who holds each is on the
unit's page, ``admin_units.unit_page``), choose the 分管领导 among the unit's members, and 撤销 the unit and its
subtree once its consequences — people, open tasks, published matters — have been shown and confirmed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from xietong.cases.unit_impact import unit_impact
from xietong.directory import service as directory
from xietong.directory.schemas import PostIn, field_problems
from xietong.errors import DomainError, NotFound
from xietong.security.principal import Principal
from xietong.web.deps import audit, reading, writing
from xietong.web.pages.access import PagePrincipal
from xietong.web.pages.admin import require_area
from xietong.web.pages.admin_directory import require_unit
from xietong.web.pages.admin_units import STATUS, unit_page
from xietong.web.pages.rendering import render

router = APIRouter()
POST_LABELS = {"code": "岗位编码", "name": "岗位名称"}


def _post_refused(request: Request, principal: Principal, unit_id: int, key: str, exc: Exception,
                  typed: dict[str, str]) -> Response:
    if isinstance(exc, ValidationError):
        messages = [f"{POST_LABELS.get(p.field, p.field)}：{p.message}" for p in field_problems(exc, POST_LABELS)]
        status = 422
    else:
        assert isinstance(exc, DomainError)
        if exc.kind == "forbidden":
            raise exc
        messages, status = [exc.detail], STATUS.get(exc.kind, 422)
    return unit_page(request, principal, unit_id, post_errors={key: messages}, post_values=typed, status=status)


@router.post("/admin/directory/units/{unit_id}/posts", include_in_schema=False)
def create_post(unit_id: int, request: Request, principal: PagePrincipal,
                code: Annotated[str, Form(max_length=40)] = "", name: Annotated[str, Form(max_length=100)] = ""
                ) -> Response:
    require_area(principal, "directory")
    typed = {"new-code": code, "new-name": name}
    try:
        data = PostIn(code=code, name=name)
        with writing(request) as session:
            require_unit(session, principal, unit_id)
            post = directory.create_post(session, unit_id=unit_id, data=data)
            audit(session, request, principal, "directory.post_created", target_kind="post", target_id=post.id,
                  unit_id=unit_id, code=post.code)
    except (ValidationError, DomainError) as exc:
        return _post_refused(request, principal, unit_id, "new", exc, typed)
    return RedirectResponse(f"/admin/directory/units/{unit_id}?saved=post#posts", status_code=303)


@router.post("/admin/directory/units/{unit_id}/posts/{post_id}", include_in_schema=False)
def rename_post(unit_id: int, post_id: int, request: Request, principal: PagePrincipal,
                name: Annotated[str, Form(max_length=100)] = "") -> Response:
    require_area(principal, "directory")
    try:
        with writing(request) as session:
            require_unit(session, principal, unit_id)
            _require_post_of(session, unit_id, post_id)
            post = directory.rename_post(session, post_id=post_id, name=name)
            audit(session, request, principal, "directory.post_renamed", target_kind="post", target_id=post_id,
                  unit_id=unit_id, name=post.name)
    except DomainError as exc:
        return _post_refused(request, principal, unit_id, str(post_id), exc, {str(post_id): name})
    return RedirectResponse(f"/admin/directory/units/{unit_id}?saved=post#posts", status_code=303)


@router.post("/admin/directory/units/{unit_id}/posts/{post_id}/remove", include_in_schema=False)
def remove_post(unit_id: int, post_id: int, request: Request, principal: PagePrincipal) -> Response:
    require_area(principal, "directory")
    try:
        with writing(request) as session:
            require_unit(session, principal, unit_id)
            _require_post_of(session, unit_id, post_id)
            post = directory.remove_post(session, post_id=post_id)
            audit(session, request, principal, "directory.post_removed", target_kind="post", target_id=post_id,
                  unit_id=unit_id, code=post.code)
    except DomainError as exc:
        return _post_refused(request, principal, unit_id, str(post_id), exc, {})
    return RedirectResponse(f"/admin/directory/units/{unit_id}?saved=removed#posts", status_code=303)


def _require_post_of(session: Session, unit_id: int, post_id: int) -> None:
    if directory.require_post(session, post_id=post_id).unit_id != unit_id:
        raise NotFound(code="post_not_found", detail=f"该单位没有这个岗位：{post_id}")


@router.post("/admin/directory/units/{unit_id}/leaders", include_in_schema=False)
def set_leaders(unit_id: int, request: Request, principal: PagePrincipal,
                leader: Annotated[list[int] | None, Form()] = None) -> Response:
    require_area(principal, "directory")
    chosen = sorted(set(leader or []))
    try:
        with writing(request) as session:
            require_unit(session, principal, unit_id)
            directory.set_post_holders(session, unit_id=unit_id, post_code=directory.LEADER_IN_CHARGE,
                                       person_ids=chosen)
            audit(session, request, principal, "directory.leaders_set", target_kind="unit", target_id=unit_id,
                  person_ids=chosen)
    except DomainError as exc:
        return _post_refused(request, principal, unit_id, "leaders", exc, {})
    return RedirectResponse(f"/admin/directory/units/{unit_id}?saved=leaders#leaders", status_code=303)


# --- 撤销 -------------------------------------------------------------------------------------------------------


def _deactivate_page(request: Request, principal: Principal, unit_id: int, *, error: str = "",
                     status: int = 200) -> Response:
    with reading(request) as session:
        row = require_unit(session, principal, unit_id)
        unit = directory.unit_out(session, unit_id=row.id)
        impact = unit_impact(session, unit_id=unit.id)
        path = directory.unit_paths(session, units=[row])[unit.id]
    context = {"unit": unit, "path": path, "impact": impact, "error": error}
    return render(request, "admin/unit_deactivate.html", context, status_code=status)


@router.get("/admin/directory/units/{unit_id}/deactivate", include_in_schema=False)
def deactivate_form(unit_id: int, request: Request, principal: PagePrincipal) -> Response:
    require_area(principal, "directory")
    return _deactivate_page(request, principal, unit_id)


@router.post("/admin/directory/units/{unit_id}/deactivate", include_in_schema=False)
def deactivate_unit(unit_id: int, request: Request, principal: PagePrincipal,
                    confirm: Annotated[str, Form(max_length=5)] = "") -> Response:
    require_area(principal, "directory")
    if confirm != "on":
        return _deactivate_page(request, principal, unit_id, error="请勾选确认后再撤销", status=422)
    with writing(request) as session:
        unit = require_unit(session, principal, unit_id)
        if not unit.active:
            return _deactivate_page(request, principal, unit_id, error="该单位已撤销", status=409)
        parent_id = unit.parent_id
        count = directory.deactivate_unit(session, unit_id=unit_id)
        audit(session, request, principal, "directory.unit_deactivated", target_kind="unit", target_id=unit_id,
              units=count)
    return RedirectResponse(f"/admin/directory?unit={parent_id}" if parent_id else "/admin/directory",
                            status_code=303)
