"""单位与人员 administration: the unit tree (only the part this administrator covers) with search, a unit's
posts and people, creating and editing a person with their memberships (任职: a unit chosen with the unit picker,
a post of it), the all-or-nothing ``.xlsx`` import of units or people with every bad row listed on the page, and
the exports. Units and posts themselves are edited in ``admin_units.py``.

The same checks as ``web/api/directory.py``: ``may_administer_unit(…, "directory", unit)`` over the unit's region
or subtree; a person is administered by whoever administers one of their units (``may_administer_person``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from xietong.directory import service as directory
from xietong.directory import xlsx
from xietong.directory.schemas import PersonOut, UnitNode
from xietong.errors import DomainError, Forbidden, InvalidInput, TooLarge
from xietong.security.masking import people_for
from xietong.security.permissions import may_administer, may_administer_person, may_administer_unit
from xietong.security.principal import Principal
from xietong.web.deps import audit, reading, writing
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
