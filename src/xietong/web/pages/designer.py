"""The matter editor under ``/admin/matters``: the matters a person administers, a matter's version history with
the 五减 diff, opening a draft from the latest version, its limits, fee, trips and materials, publishing (refused
with every problem listed) and retiring. The process and form designers are ``designer_process.py`` and
``designer_form.py``. Every rule is in ``catalog.drafts``; this only reads posts and renders."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from xietong.catalog import drafts
from xietong.catalog import service as catalog
from xietong.catalog.forms.editing import TYPE_LABELS
from xietong.errors import DomainError, FieldProblem, Forbidden, InvalidInput
from xietong.materials.kinds import KINDS
from xietong.security.principal import Principal
from xietong.web.deps import audit, reading, writing
from xietong.web.pages.access import PagePrincipal
from xietong.web.pages.rendering import plain, render
from xietong.web.problems import STATUS_BY_KIND

router = APIRouter(prefix="/admin/matters")
Keyword = Annotated[str, Query(max_length=100)]
After = Annotated[str | None, Query(max_length=64)]
STATUS_LABELS = {"draft": "草稿", "published": "已发布", "retired": "已废止"}
CHANGE_LABELS = {"added": "新增", "removed": "删除", "changed": "修改"}


def _require_editor(principal: Principal) -> None:
    if not drafts.may_edit_matters(principal):
        raise Forbidden(code="not_catalog_admin", detail="只有事项管理员（改革办或系统管理员）可以维护事项")


@router.get("", include_in_schema=False)
def matter_list(request: Request, principal: PagePrincipal, keyword: Keyword = "", after: After = None) -> Response:
    _require_editor(principal)
    with reading(request) as session:
        rows = drafts.find_administered(session, principal, keyword=keyword, after=after)
    more = rows[-1].code if len(rows) == drafts.LIST_LIMIT else None
    return render(request, "designer/list.html", {"rows": rows, "keyword": keyword, "more": more,
                                                   "labels": STATUS_LABELS})


def _matter_context(request: Request, principal: Principal, matter_id: int) -> dict[str, Any]:
    with reading(request) as session:
        local = drafts.administered_matter(session, principal, matter_id)
        entries = [replace(e, version=plain(e.version)) for e in drafts.history(session, local)]
        draft = next((e.version for e in entries if e.version.status == "draft"), None)
        context: dict[str, Any] = {"local": plain(local), "entries": entries, "draft": draft, "labels": STATUS_LABELS,
                                   "changes": CHANGE_LABELS, "types": TYPE_LABELS, "shared_kinds": KINDS}
        if draft is not None:
            row = drafts.editable_view(session, draft.id)
            context |= {
                "facts": drafts.facts_of(session, row),
                "materials": draft.materials,
                "publish_problems": drafts.publish_problems(session, row),
            }
    return context


@router.get("/{matter_id}", include_in_schema=False)
def matter_page(matter_id: int, request: Request, principal: PagePrincipal, done: str = "") -> Response:
    context = _matter_context(request, principal, matter_id)
    return render(request, "designer/matter.html", {**context, "done": done})


def _again(request: Request, principal: Principal, matter_id: int, error: DomainError,
           **extra: Any) -> Response:
    """The matter page again with the error listed next to the part that was posted; nothing was saved."""
    if error.kind == "unauthenticated":
        raise error
    context = _matter_context(request, principal, matter_id) | {"error": error, **extra}
    return render(request, "designer/matter.html", context, status_code=STATUS_BY_KIND.get(error.kind, 422))


def _back(matter_id: int, done: str) -> Response:
    return RedirectResponse(f"/admin/matters/{matter_id}?done={done}", status_code=303)


@router.post("/{matter_id}/drafts", include_in_schema=False)
def open_draft(matter_id: int, request: Request, principal: PagePrincipal) -> Response:
    try:
        with writing(request) as session:
            local = drafts.administered_matter(session, principal, matter_id)
            version = drafts.open_draft(session, local=local)
            audit(session, request, principal, "catalog.version_drafted", target_kind="matter_version",
                  target_id=version.id, local_matter_id=matter_id, number=version.number)
    except DomainError as exc:
        return _again(request, principal, matter_id, exc, part="draft")
    return _back(matter_id, "draft")


@router.post("/{matter_id}/versions/{version_id}/settings", include_in_schema=False)
async def settings(matter_id: int, version_id: int, request: Request, principal: PagePrincipal) -> Response:
    data = await request.form()
    try:
        kind, promised, fee, trips = _settings(data)
        with writing(request) as session:
            version = _draft(session, principal, matter_id, version_id)
            drafts.update_settings(session, version=version, kind=kind, promised_limit_days=promised, fee_yuan=fee,
                                   trips=trips)
            audit(session, request, principal, "catalog.draft_settings_saved", target_kind="matter_version",
                  target_id=version_id)
    except DomainError as exc:
        return _again(request, principal, matter_id, exc, part="settings")
    return _back(matter_id, "settings")


def _draft(session: Any, principal: Principal, matter_id: int, version_id: int) -> Any:
    version = drafts.administered_version(session, principal, version_id)
    if version.local_matter_id != matter_id:
        raise InvalidInput(code="version_mismatch", detail="该版本不属于这个事项")
    return drafts.editable(session, version_id)


def _settings(data: FormData) -> tuple[str, int, Decimal, int]:
    problems = []

    def whole(name: str, label: str) -> int:
        text = str(data.get(name) or "").strip()
        if not text.isdigit():
            problems.append(FieldProblem(name, f"{label}应为不小于 0 的整数", "bad_number"))
            return 0
        return int(text)

    promised, trips = whole("promised_limit_days", "承诺时限"), whole("trips", "到现场次数")
    try:
        fee = Decimal(str(data.get("fee_yuan") or "0").strip() or "0")
        if not fee.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        problems.append(FieldProblem("fee_yuan", "收费应为金额（元），如 0 或 12.50", "bad_fee"))
        fee = Decimal(0)
    if problems:
        raise InvalidInput(code="settings_invalid", detail=f"有 {len(problems)} 处需要修改", errors=problems)
    return str(data.get("kind") or ""), promised, fee, trips


@router.post("/{matter_id}/versions/{version_id}/materials", include_in_schema=False)
async def materials(matter_id: int, version_id: int, request: Request, principal: PagePrincipal) -> Response:
    data = await request.form()
    listed = _materials(data)
    try:
        with writing(request) as session:
            version = _draft(session, principal, matter_id, version_id)
            drafts.save_content(session, version=version, materials=listed)
            audit(session, request, principal, "catalog.draft_materials_saved", target_kind="matter_version",
                  target_id=version_id, count=len(listed))
    except DomainError as exc:
        return _again(request, principal, matter_id, exc, part="materials", posted_materials=listed)
    return _back(matter_id, "materials")


def _materials(data: FormData) -> list[dict[str, Any]]:
    """The materials table: one row per index; a row with neither code nor name is blank (clearing both deletes it)."""
    columns = {name: [str(v) for v in data.getlist(f"mat.{name}")]
               for name in ("code", "name", "required", "formats", "max_size_mb", "note", "shared_kind")}
    listed = []
    for i, code in enumerate(columns["code"]):
        def cell(name: str, i: int = i) -> str:
            values = columns[name]
            return values[i].strip() if i < len(values) else ""

        if not code.strip() and not cell("name"):
            continue
        size = cell("max_size_mb")
        item: dict[str, Any] = {
            "code": code.strip(), "name": cell("name"), "required": cell("required") == "yes",
            "formats": [f.strip().lower().lstrip(".") for f in cell("formats").replace("，", ",").replace("、", ",")
                        .split(",") if f.strip()],
            "max_size_mb": int(size) if size.isdigit() else size or 20,
        }
        if cell("note"):
            item["note"] = cell("note")
        if cell("shared_kind"):  # 减材料: satisfied by the applicant unit's document of this kind on file
            item["shared_kind"] = cell("shared_kind")
        listed.append(item)
    return listed


@router.post("/{matter_id}/versions/{version_id}/publish", include_in_schema=False)
def publish(matter_id: int, version_id: int, request: Request, principal: PagePrincipal) -> Response:
    try:
        with writing(request) as session:
            version = _draft(session, principal, matter_id, version_id)
            published = drafts.publish_draft(session, version=version)
            audit(session, request, principal, "catalog.version_published", target_kind="matter_version",
                  target_id=version_id, local_matter_id=matter_id, number=published.number)
    except DomainError as exc:
        return _again(request, principal, matter_id, exc, part="publish")
    return _back(matter_id, "published")


@router.post("/{matter_id}/retire", include_in_schema=False)
def retire(matter_id: int, request: Request, principal: PagePrincipal) -> Response:
    try:
        with writing(request) as session:
            drafts.administered_matter(session, principal, matter_id)
            catalog.retire_matter(session, local_matter_id=matter_id)
            audit(session, request, principal, "catalog.matter_retired", target_kind="local_matter",
                  target_id=matter_id)
    except DomainError as exc:
        return _again(request, principal, matter_id, exc, part="retire")
    return _back(matter_id, "retired")
