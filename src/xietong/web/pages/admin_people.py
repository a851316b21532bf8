"""A person in 单位与人员: creating and editing one with their memberships (任职). Each membership row is a unit
chosen with the unit picker (``admin_picker.py``) and one of that unit's posts; every refusal of the service comes
back next to its field with everything typed kept. Without JavaScript, 查找 and 再加一项 post the form and it comes
back with the rows found (nothing is saved until 保存)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from xietong.directory import service as directory
from xietong.directory.schemas import MembershipIn, MembershipOut, PersonIn, PersonUpdate, field_problems
from xietong.errors import DomainError, FieldProblem, Forbidden
from xietong.security.permissions import may_administer, may_administer_unit
from xietong.security.principal import Principal
from xietong.web.deps import audit, reading, writing
from xietong.web.pages.access import PagePrincipal
from xietong.web.pages.admin import require_area
from xietong.web.pages.admin_directory import require_person, require_unit
from xietong.web.pages.admin_picker import post_options, regions_of, unit_choice, unit_choices
from xietong.web.pages.forms import with_posted_form
from xietong.web.pages.rendering import render

router = APIRouter()
PERSON_FIELDS = {"employee_code": "工号", "username": "用户名", "name": "姓名", "phone": "手机号"}
MAX_ROWS = 30


@dataclass
class Row:
    """One membership row as the form shows and sends it (``m-<index>-…``)."""

    unit_id: int | None = None
    q: str = ""
    region_id: int | None = None
    post_code: str = ""
    is_primary: bool = False
    remove: bool = False
    errors: list[str] = field(default_factory=list)


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18 else None


def _text(form: FormData, key: str, limit: int) -> str:
    value = form.get(key)
    return value.strip()[:limit] if isinstance(value, str) else ""


def rows_from_form(form: FormData) -> list[Row]:
    count = min(_int(form.get("rows")) or 0, MAX_ROWS)
    primary = form.get("primary")
    rows = [Row(unit_id=_int(form.get(f"m-{i}-unit")), q=_text(form, f"m-{i}-q", 50),
                region_id=_int(form.get(f"m-{i}-region")), post_code=_text(form, f"m-{i}-post", 40),
                is_primary=primary == str(i), remove=form.get(f"m-{i}-remove") == "on") for i in range(count)]
    if form.get("add") and len(rows) < MAX_ROWS:
        rows.append(Row())
    return rows


def _memberships(session: Session, rows: list[Row]) -> list[MembershipIn]:
    """The rows to keep as memberships; a searched word that names no chosen unit is an error on its row."""
    kept: list[tuple[Row, int]] = []
    for row in rows:
        if row.remove:
            continue
        unit_id = row.unit_id
        if unit_id is None and row.q:
            by_code = directory.unit_by_code(session, code=row.q)  # a unit code typed without JavaScript
            if by_code is None:
                row.errors.append("请在查找结果中选择一个单位（或清空此项）")
                continue
            unit_id = row.unit_id = by_code.id
        if unit_id is not None:
            kept.append((row, unit_id))
    if kept and not any(row.is_primary for row, _ in kept):
        kept[0][0].is_primary = True
    return [MembershipIn(unit_id=unit_id, post_code=row.post_code or None, is_primary=row.is_primary)
            for row, unit_id in kept]


def _form(request: Request, principal: Principal, *, person: dict[str, Any], rows: list[Row], unit_id: int | None,
          problems: list[FieldProblem] | None = None, detail: str = "", status: int = 200) -> Response:
    by_field: dict[str, list[str]] = {}
    for problem in problems or []:
        key = problem.field if problem.field in PERSON_FIELDS else "memberships"
        by_field.setdefault(key, []).append(problem.message)
    with reading(request) as session:
        fixed = []
        if person.get("id") is not None:  # memberships in units this administrator does not cover: read-only
            memberships = directory.person_out(session, person_id=person["id"]).memberships
            covered = _covered_units(session, principal, memberships)
            fixed = [m for m in memberships if m.unit_active and m.unit_id not in covered]
        views = []
        for index, row in enumerate(rows):
            chosen = unit_choice(session, row.unit_id)
            views.append({"index": index, "row": row, "chosen": chosen,
                          "choices": unit_choices(session, principal, "directory", keyword=row.q,
                                                  region_id=row.region_id, chosen=chosen),
                          "posts": post_options(session, row.unit_id)})
        regions = regions_of(session)
    context = {"person": person, "rows": views, "unit_id": unit_id, "by_field": by_field, "detail": detail,
               "labels": PERSON_FIELDS, "regions": regions, "fixed": fixed,
               "row_errors": any(row.errors for row in rows)}
    return render(request, "admin/person.html", context, status_code=status)


@router.get("/admin/directory/people/new", include_in_schema=False)
def new_person(request: Request, principal: PagePrincipal, unit: int | None = None) -> Response:
    require_area(principal, "directory")
    rows = [Row()]
    if unit is not None:
        with reading(request) as session:
            rows = [Row(unit_id=require_unit(session, principal, unit).id, is_primary=True), Row()]
    return _form(request, principal, person={"id": None, "active": True}, rows=rows, unit_id=unit)


@router.get("/admin/directory/people/{person_id}", include_in_schema=False)
def edit_person(person_id: int, request: Request, principal: PagePrincipal, unit: int | None = None) -> Response:
    require_area(principal, "directory")
    with reading(request) as session:
        person = require_person(session, principal, person_id)
        covered = _covered_units(session, principal, person.memberships)
    rows = [Row(unit_id=m.unit_id, post_code=m.post_code or "", is_primary=m.is_primary)
            for m in person.memberships if m.unit_active and m.unit_id in covered]
    return _form(request, principal, person=person.model_dump(), rows=[*rows, Row()], unit_id=unit)


@router.post("/admin/directory/people", include_in_schema=False)
@router.post("/admin/directory/people/{person_id}", include_in_schema=False)
async def save_person(request: Request, principal: PagePrincipal, person_id: int | None = None) -> Response:
    return await with_posted_form(request, _save, request, principal, person_id)


def _save(request: Request, principal: Principal, person_id: int | None, form: FormData) -> Response:
    require_area(principal, "directory")
    values = {key: _text(form, key, 64) for key in ("employee_code", "username", "name", "phone")}
    typed = {"id": person_id, **values, "active": form.get("active") == "on" or person_id is None}
    if person_id is not None:
        with reading(request) as session:
            typed["employee_code"] = require_person(session, principal, person_id).employee_code
    rows = rows_from_form(form)
    unit_id = _int(form.get("unit"))
    if form.get("find") or form.get("add"):  # the picker without JavaScript: show the rows found, save nothing
        return _form(request, principal, person=typed, rows=rows, unit_id=unit_id)
    with reading(request) as session:
        memberships = _memberships(session, rows)
    if any(row.errors for row in rows):
        return _form(request, principal, person=typed, rows=rows, unit_id=unit_id, detail="请为每一项任职选择单位",
                     status=422)
    try:
        with writing(request) as session:
            person_id = _write(session, request, principal, person_id, values, typed["active"], memberships)
    except ValidationError as exc:
        return _form(request, principal, person=typed, rows=rows, unit_id=unit_id, problems=field_problems(exc),
                     detail="输入有误，请按提示修改", status=422)
    except DomainError as exc:
        if exc.kind == "forbidden":
            raise
        return _form(request, principal, person=typed, rows=rows, unit_id=unit_id, problems=exc.errors,
                     detail=exc.detail, status=422 if exc.kind == "invalid" else 409)
    back = f"/admin/directory?unit={unit_id}" if unit_id else f"/admin/directory/people/{person_id}"
    return RedirectResponse(back, status_code=303)


def _write(session: Session, request: Request, principal: Principal, person_id: int | None, values: dict[str, str],
           active: bool, memberships: list[MembershipIn]) -> int:
    _check_targets(session, principal, memberships)
    if person_id is None:
        data = PersonIn(employee_code=values["employee_code"], username=values["username"], name=values["name"],
                        phone=values["phone"] or None, memberships=memberships)
        if not memberships and not may_administer(principal, "directory"):
            raise Forbidden(code="not_directory_admin", detail="请为新人员选择至少一个您管理的单位")
        person = directory.create_person(session, data=data)
        audit(session, request, principal, "directory.person_created", target_kind="person", target_id=person.id,
              username=data.username)
        return person.id
    require_person(session, principal, person_id)
    update = PersonUpdate(username=values["username"], name=values["name"], phone=values["phone"] or None,
                          active=active)
    covers = _covers(principal)
    directory.update_person(session, person_id=person_id, data=update, covers=covers)
    directory.merge_memberships(session, person_id=person_id, memberships=memberships, covers=covers)
    audit(session, request, principal, "directory.person_updated", target_kind="person", target_id=person_id,
          changes=update.model_dump(exclude_unset=True), memberships=[m.model_dump() for m in memberships])
    return person_id


def _check_targets(session: Session, principal: Principal, memberships: list[MembershipIn]) -> None:
    """Every unit chosen must be one this administrator covers (an unknown one is the service's to report)."""
    for membership in memberships:
        target = directory.unit_by_id(session, unit_id=membership.unit_id or 0)
        if target is not None and not may_administer_unit(principal, "directory", target):
            raise Forbidden(code="not_directory_admin", detail=f"您不能在单位 {target.name} 安排任职")


def _covers(principal: Principal) -> directory.Covers:
    return lambda unit: may_administer_unit(principal, "directory", unit)


def _covered_units(session: Session, principal: Principal, memberships: list[MembershipOut]) -> set[int]:
    covers = _covers(principal)
    units = {m.unit_id for m in memberships}
    return {unit_id for unit_id in units if (unit := directory.unit_by_id(session, unit_id=unit_id)) and covers(unit)}
