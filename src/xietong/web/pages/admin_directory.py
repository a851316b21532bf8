"""单位与人员 administration: the unit tree (only the part this administrator covers) with search, a unit's
posts and people, creating and editing a person with their memberships (任职: a unit chosen with the unit picker,
a post of it), the all-or-nothing ``.xlsx`` import of units or people with every bad row listed on the page, and
the exports; 机构改革 (merge, split or rename units): the form, its plan item by item, then the per-item log of the
execution. Units and posts themselves are edited in ``admin_units.py``.

The same checks as ``web/api/directory.py``: ``may_administer_unit(…, "directory", unit)`` over the unit's region
or subtree; a person is administered by whoever administers one of their units (``may_administer_person``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from xietong.directory import service as directory
from xietong.directory import xlsx
from xietong.directory.schemas import PersonOut, UnitNode, field_problems
from xietong.directory.service import reorganisation as reorg
from xietong.errors import DomainError, FieldProblem, Forbidden, InvalidInput, TooLarge
from xietong.security.masking import people_for
from xietong.security.permissions import may_administer, may_administer_person, may_administer_unit
from xietong.security.principal import Principal
from xietong.web.deps import audit, auditor, reading, settings_of, writing
from xietong.web.pages.access import PagePrincipal
from xietong.web.pages.admin import require_area
from xietong.web.pages.rendering import render

router = APIRouter()
MAX_XLSX_BYTES = 10 * 1024 * 1024
IMPORTERS = {"units": (xlsx.import_units, "directory.units_imported", "单位"),
             "people": (xlsx.import_people, "directory.people_imported", "人员")}


def _covers(principal: Principal, unit: Any) -> bool:
    return may_administer_unit(principal, "directory", unit)


def require_unit(session: Session, principal: Principal, unit_id: int) -> Any:
    unit = directory.require_unit(session, unit_id=unit_id)
    if not _covers(principal, unit):
        raise Forbidden(code="not_directory_admin", detail="只有该范围的系统管理员可以维护这个单位")
    return unit


def require_person(session: Session, principal: Principal, person_id: int) -> PersonOut:
    """The person, if this administrator administers them; the 403 page otherwise."""
    person = directory.person_out(session, person_id=person_id)
    units = [directory.require_unit(session, unit_id=m.unit_id) for m in person.memberships]
    if not may_administer_person(principal, "directory", units):
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
            require_unit(session, principal, unit_id)
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
        log = reorg.execute(lambda: writing(request), principal=principal, spec=spec, tz=settings_of(request).timezone,
                            record=auditor(request, principal, "reorganisation"))
    except ValidationError as exc:
        return _reorg_page(request, form, problems=field_problems(exc), detail="输入有误，请按提示修改", status=422)
    except DomainError as exc:
        if exc.kind == "forbidden":
            raise
        return _reorg_page(request, form, detail=exc.detail, problems=exc.errors,
                           status=422 if exc.kind == "invalid" else 409)
    return _reorg_page(request, form, log=log)
