"""单位与人员 administration: the unit tree (only the part this administrator covers) with search, a unit's
posts and people, creating and editing a person with their memberships (任职: unit and post), the all-or-nothing
``.xlsx`` import of units or people with every bad row listed on the page, and the exports; 机构改革 (merge, split
or rename units): the form, its plan item by item, then the per-item log of the execution.

The same checks as ``web/api/directory.py``: ``may_administer(…, "directory")`` over the unit's region or
subtree; a person is administered by whoever administers one of their units."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from xietong.directory import service as directory
from xietong.directory import xlsx
from xietong.directory.schemas import MembershipIn, PersonIn, PersonOut, PersonUpdate, UnitNode, field_problems
from xietong.directory.service import reorganisation as reorg
from xietong.errors import DomainError, FieldProblem, Forbidden, InvalidInput, TooLarge
from xietong.security.masking import people_for
from xietong.security.permissions import may_administer
from xietong.security.principal import Principal
from xietong.web.deps import audit, reading, settings_of, writing
from xietong.web.pages.access import PagePrincipal
from xietong.web.pages.admin import require_area
from xietong.web.pages.rendering import render

router = APIRouter()
MAX_XLSX_BYTES = 10 * 1024 * 1024
BLANK_MEMBERSHIPS = 2  # empty rows offered on the person form for new memberships
LABELS = {"employee_code": "工号", "username": "用户名", "name": "姓名", "phone": "手机号", "unit_code": "单位编码",
          "post_code": "岗位编码"}
IMPORTERS = {"units": (xlsx.import_units, "directory.units_imported", "单位"),
             "people": (xlsx.import_people, "directory.people_imported", "人员")}


def _covers(principal: Principal, unit: Any) -> bool:
    return may_administer(principal, "directory", region_id=unit.region_id, unit_path=unit.path)


def _require_unit(session: Session, principal: Principal, unit_id: int) -> Any:
    unit = directory.require_unit(session, unit_id=unit_id)
    if not _covers(principal, unit):
        raise Forbidden(code="not_directory_admin", detail="只有该范围的系统管理员可以维护这个单位")
    return unit


def _require_person(session: Session, principal: Principal, person_id: int) -> PersonOut:
    person = directory.person_out(session, person_id=person_id)
    for membership in person.memberships:
        if _covers(principal, directory.require_unit(session, unit_id=membership.unit_id)):
            return person
    if not may_administer(principal, "directory"):
        raise Forbidden(code="not_directory_admin", detail="只有该人员所在单位的系统管理员可以维护此人员")
    return person


def covered_forest(principal: Principal, roots: list[UnitNode]) -> list[UnitNode]:
    """The highest units this administrator covers (their whole subtrees come with them)."""
    found: list[UnitNode] = []

    def walk(node: UnitNode) -> None:
        if _covers(principal, node):
            found.append(node)
        else:
            for child in node.children:
                walk(child)

    for root in roots:
        walk(root)
    return found


def _directory_page(request: Request, principal: Principal, *, q: str = "", unit_id: int | None = None,
                    status: int = 200, **extra: Any) -> Response:
    with reading(request) as session:
        forest = covered_forest(principal, directory.unit_tree(session))
        found = None
        if q.strip():
            units = [u for u in directory.find_units(session, keyword=q, limit=100) if _covers(principal, u)]
            found = directory.units_out(session, units=units)
        unit = people = posts = None
        if unit_id is not None:
            _require_unit(session, principal, unit_id)
            unit = directory.unit_out(session, unit_id=unit_id)
            people = people_for(principal, directory.people_out(
                session, people=directory.people_in_unit(session, unit_id=unit_id)))
            posts = [(post.code, post.name) for post in directory.posts_of(session, unit_id=unit_id)]
        open_ids = set(int(part) for part in unit.path.strip("/").split("/") if part) if unit else set()
    context = {"forest": forest, "q": q, "found": found, "unit": unit, "people": people, "posts": posts,
               "open_ids": open_ids, "import_report": None,
               "may_import": may_administer(principal, "directory"), **extra}
    return render(request, "admin/directory.html", context, status_code=status)


@router.get("/admin/directory", include_in_schema=False)
def directory_page(request: Request, principal: PagePrincipal, q: Annotated[str, Query(max_length=50)] = "",
                   unit: int | None = None) -> Response:
    require_area(principal, "directory")
    return _directory_page(request, principal, q=q, unit_id=unit)


@router.post("/admin/directory/import", include_in_schema=False)
def import_directory(request: Request, principal: PagePrincipal, kind: Annotated[str, Form()],
                     file: Annotated[UploadFile, File()]) -> Response:
    """All or nothing: a summary, or every bad row on the page and nothing written."""
    require_area(principal, "directory")
    if not may_administer(principal, "directory"):
        raise Forbidden(code="not_directory_admin", detail="只有全部范围的系统管理员可以整表导入")
    if kind not in IMPORTERS:
        raise InvalidInput(code="bad_import_kind", detail="请选择导入单位还是人员")
    importer, action, label = IMPORTERS[kind]
    try:
        data = file.file.read(MAX_XLSX_BYTES + 1)
        if len(data) > MAX_XLSX_BYTES:
            raise TooLarge(code="file_too_large", detail=f"文件不能超过 {MAX_XLSX_BYTES // 1024 // 1024} MB")
        if not data.startswith(b"PK"):
            raise InvalidInput(code="not_xlsx", detail="请上传 .xlsx 格式的 Excel 文件")
        with writing(request) as session:
            summary = importer(session, data=data)
            audit(session, request, principal, action, file=file.filename, created=summary.created,
                  updated=summary.updated)
    except DomainError as exc:
        if exc.kind == "forbidden":
            raise
        report = {"ok": False, "label": label, "detail": exc.detail, "errors": exc.errors, "file": file.filename}
        return _directory_page(request, principal, status=422, import_report=report)
    report = {"ok": True, "label": label, "created": summary.created, "updated": summary.updated,
              "file": file.filename}
    return _directory_page(request, principal, import_report=report)


# --- a person ------------------------------------------------------------------------------------------------


def _person_form(request: Request, *, person: dict[str, Any], memberships: list[dict[str, Any]],
                 unit_id: int | None, problems: list[FieldProblem] | None = None, detail: str = "",
                 status: int = 200) -> Response:
    rows = memberships + [{"unit_code": "", "post_code": "", "is_primary": False}] * BLANK_MEMBERSHIPS
    by_field: dict[str, list[str]] = {}
    for problem in problems or []:
        by_field.setdefault(problem.field, []).append(problem.message)
    context = {"person": person, "memberships": rows, "unit_id": unit_id, "problems": problems or [],
               "by_field": by_field, "detail": detail, "labels": LABELS}
    return render(request, "admin/person.html", context, status_code=status)


@router.get("/admin/directory/people/new", include_in_schema=False)
def new_person(request: Request, principal: PagePrincipal, unit: int | None = None) -> Response:
    require_area(principal, "directory")
    memberships = []
    if unit is not None:
        with reading(request) as session:
            memberships = [{"unit_code": _require_unit(session, principal, unit).code, "post_code": "",
                            "is_primary": True}]
    return _person_form(request, person={"id": None, "active": True}, memberships=memberships, unit_id=unit)


@router.get("/admin/directory/people/{person_id}", include_in_schema=False)
def edit_person(person_id: int, request: Request, principal: PagePrincipal, unit: int | None = None) -> Response:
    require_area(principal, "directory")
    with reading(request) as session:
        person = _require_person(session, principal, person_id)
    memberships = [{"unit_code": m.unit_code, "post_code": m.post_code or "", "is_primary": m.is_primary,
                    "unit_name": m.unit_name, "post_name": m.post_name} for m in person.memberships]
    return _person_form(request, person=person.model_dump(), memberships=memberships, unit_id=unit)


def _memberships_in(units: list[str], posts: list[str], primary: str) -> list[dict[str, Any]]:
    rows = []
    for index, (unit_code, post_code) in enumerate(zip(units, posts, strict=False)):
        if unit_code.strip():
            rows.append({"unit_code": unit_code.strip(), "post_code": post_code.strip(),
                         "is_primary": primary == str(index)})
    if rows and not any(row["is_primary"] for row in rows):
        rows[0]["is_primary"] = True
    return rows


@router.post("/admin/directory/people", include_in_schema=False)
@router.post("/admin/directory/people/{person_id}", include_in_schema=False)
def save_person(
    request: Request,
    principal: PagePrincipal,
    person_id: int | None = None,
    employee_code: Annotated[str, Form(max_length=40)] = "",
    username: Annotated[str, Form(max_length=64)] = "",
    name: Annotated[str, Form(max_length=50)] = "",
    phone: Annotated[str, Form(max_length=20)] = "",
    active: Annotated[str, Form(max_length=5)] = "",
    unit_code: Annotated[list[str] | None, Form()] = None,
    post_code: Annotated[list[str] | None, Form()] = None,
    primary: Annotated[str, Form(max_length=5)] = "",
    unit: Annotated[int | None, Form()] = None,
) -> Response:
    require_area(principal, "directory")
    rows = _memberships_in(unit_code or [], post_code or [], primary)
    typed = {"id": person_id, "employee_code": employee_code, "username": username, "name": name, "phone": phone,
             "active": active == "on" or person_id is None}
    try:
        memberships = [MembershipIn(**row) for row in rows]
        with writing(request) as session:
            if person_id is None:
                data = PersonIn(employee_code=employee_code, username=username, name=name, phone=phone or None,
                                memberships=memberships)
                if not memberships and not may_administer(principal, "directory"):
                    raise Forbidden(code="not_directory_admin", detail="请为新人员填写至少一个您管理的单位")
                _check_targets(session, principal, memberships)
                person = directory.create_person(session, data=data)
                person_id = person.id
                audit(session, request, principal, "directory.person_created", target_kind="person",
                      target_id=person.id, username=username)
            else:
                _require_person(session, principal, person_id)
                _check_targets(session, principal, memberships)
                update = PersonUpdate(username=username, name=name, phone=phone or None, active=active == "on")
                directory.update_person(session, person_id=person_id, data=update)
                directory.replace_memberships(session, person_id=person_id, memberships=memberships)
                audit(session, request, principal, "directory.person_updated", target_kind="person",
                      target_id=person_id, changes=update.model_dump(exclude_unset=True),
                      memberships=[m.model_dump() for m in memberships])
    except ValidationError as exc:
        return _person_form(request, person=typed, memberships=rows, unit_id=unit,
                            problems=field_problems(exc), detail="输入有误，请按提示修改", status=422)
    except DomainError as exc:
        if exc.kind == "forbidden":
            raise
        return _person_form(request, person=typed, memberships=rows, unit_id=unit, problems=exc.errors,
                            detail=exc.detail, status=422 if exc.kind == "invalid" else 409)
    back = f"/admin/directory?unit={unit}" if unit else f"/admin/directory/people/{person_id}"
    return RedirectResponse(back, status_code=303)


def _check_targets(session: Session, principal: Principal, memberships: list[MembershipIn]) -> None:
    """Every unit named must be one this administrator covers (an unknown code is the service's to report)."""
    for membership in memberships:
        target = directory.unit_by_code(session, code=membership.unit_code or "")
        if target is not None and not _covers(principal, target):
            raise Forbidden(code="not_directory_admin", detail=f"您不能在单位 {target.name} 安排任职")


# --- 机构改革 -------------------------------------------------------------------------------------------------

MAPPING_KINDS = {"岗位": "posts", "人员": "people", "事项": "matters", "办件": "cases", "下级单位": "units"}
REORG_FIELDS = ("kind", "units", "reason", "name", "short_name", "successor_code", "successor_name", "successors",
                "mapping")
ReorgForm = Annotated[str, Form(max_length=20000)]


def _reorg_page(request: Request, form: dict[str, str], *, plan: Any = None, log: Any = None, detail: str = "",
                problems: list[FieldProblem] | None = None, status: int = 200) -> Response:
    context = {"form": form, "plan": plan, "log": log, "detail": detail, "problems": problems or [],
               "kinds": reorg.KIND_LABELS, "items": reorg.ITEM_LABELS, "states": reorg.STATE_LABELS,
               "mapping_kinds": MAPPING_KINDS}
    return render(request, "admin/reorganisation.html", context, status_code=status)


def _spec(form: dict[str, str]) -> reorg.ReorganisationIn:
    """The form as a reorganisation spec: units one per line (or separated by spaces or commas), successors as
    "编码 名称" lines, the split's mapping as "类别 对象 接续单位编码" lines."""
    mapping: dict[str, dict[str, str]] = {}
    for number, line in enumerate(form["mapping"].splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3 or parts[0] not in MAPPING_KINDS:
            kinds = "、".join(MAPPING_KINDS)
            raise InvalidInput(code="reorganisation_bad_mapping",
                               detail=f"划分第 {number} 行应为“类别 对象 接续单位编码”，类别为{kinds}")
        mapping.setdefault(MAPPING_KINDS[parts[0]], {})[parts[1]] = parts[2]
    successors = [dict(zip(("code", "name"), line.split(maxsplit=1), strict=False))
                  for line in form["successors"].splitlines() if line.strip()]
    data: dict[str, Any] = {"kind": form["kind"], "units": form["units"].replace(",", " ").replace("，", " ").split(),
                            "reason": form["reason"].strip(), "mapping": mapping, "successors": successors}
    if form["kind"] == "rename":
        data.update(name=form["name"].strip() or None, short_name=form["short_name"].strip() or None)
    if form["kind"] == "merge" and form["successor_code"].strip():
        data["successor"] = {"code": form["successor_code"].strip(), "name": form["successor_name"].strip() or None}
    return reorg.ReorganisationIn.model_validate(data)


def _reorg_form(kind: str, units: str, reason: str, name: str, short_name: str, successor_code: str,
                successor_name: str, successors: str, mapping: str) -> dict[str, str]:
    return dict(zip(REORG_FIELDS, (kind, units, reason, name, short_name, successor_code, successor_name, successors,
                                   mapping), strict=True))


@router.get("/admin/directory/reorganisation", include_in_schema=False)
def reorganisation_page(request: Request, principal: PagePrincipal) -> Response:
    require_area(principal, "directory")
    return _reorg_page(request, dict.fromkeys(REORG_FIELDS, "") | {"kind": "merge"})


@router.post("/admin/directory/reorganisation/plan", include_in_schema=False)
@router.post("/admin/directory/reorganisation", include_in_schema=False)
def reorganise(request: Request, principal: PagePrincipal, kind: ReorgForm = "merge", units: ReorgForm = "",
               reason: ReorgForm = "", name: ReorgForm = "", short_name: ReorgForm = "", successor_code: ReorgForm = "",
               successor_name: ReorgForm = "", successors: ReorgForm = "", mapping: ReorgForm = "") -> Response:
    """预览 (…/plan): the plan, and 执行 only when nothing is refused; 执行: the per-item log."""
    require_area(principal, "directory")
    form = _reorg_form(kind, units, reason, name, short_name, successor_code, successor_name, successors, mapping)
    try:
        spec = _spec(form)
        if request.url.path.endswith("/plan"):
            with reading(request) as session:
                return _reorg_page(request, form, plan=reorg.plan(session, principal=principal, spec=spec))
        log = reorg.execute(lambda: writing(request), principal=principal, spec=spec, tz=settings_of(request).timezone)
        cases = [o for o in log.items if o.kind == "case"]
        with writing(request) as session:
            audit(session, request, principal, "directory.reorganised", target_kind="reorganisation",
                  target_id=log.key, kind=spec.kind.value, units=spec.units, reason=spec.reason,
                  directory_items=len(log.items) - len(cases), cases_moved=sum(o.ok for o in cases),
                  cases_failed=[{"id": o.id, "code": o.code, "detail": o.detail} for o in log.failed])
    except ValidationError as exc:
        return _reorg_page(request, form, problems=field_problems(exc), detail="输入有误，请按提示修改", status=422)
    except DomainError as exc:
        if exc.kind == "forbidden":
            raise
        return _reorg_page(request, form, detail=exc.detail, problems=exc.errors,
                           status=422 if exc.kind == "invalid" else 409)
    return _reorg_page(request, form, log=log)
