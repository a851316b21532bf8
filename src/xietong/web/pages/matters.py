"""事项大厅 and the application wizard: find matters by region, unit and keyword; a matter's page (materials,
limits, process, the form as a sample); apply — the form from the version's schema, prefilled, materials
uploaded one by one (type and size checked at once), review, submit through ``submit_case``. The wizard's
draft is kept on the server (``cases/drafts.py``): saved a moment after each change or upload and on 保存草稿,
resumed when the person comes back, deleted with the submission."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from starlette.datastructures import FormData, UploadFile

from xietong.cases import attachments, drafts
from xietong.cases import queries as case_queries
from xietong.cases import service as cases
from xietong.cases.enums import Channel
from xietong.cases.filetypes import format_of
from xietong.cases.models import Attachment
from xietong.catalog import queries
from xietong.catalog.forms import Material, parse_materials, validate_form
from xietong.catalog.schemas import MatterDetail
from xietong.directory.models import Person, Unit
from xietong.directory.service import regions, units_by_region
from xietong.errors import DomainError, FieldProblem, InvalidInput, NotFound
from xietong.materials import queries as material_queries
from xietong.materials import service as material_service
from xietong.security.principal import Principal
from xietong.web.deps import reading, settings_of, writing
from xietong.web.pages import diagram, situations
from xietong.web.pages.access import PagePrincipal, person_id
from xietong.web.pages.forms import field_errors, posted_form, posted_materials, schema_of, with_posted_form
from xietong.web.pages.rendering import is_htmx, render
from xietong.web.problems import STATUS_BY_KIND

router = APIRouter()
PAGE_SIZE = 20


@dataclass(frozen=True)
class Choice:
    id: int
    name: str


@dataclass(frozen=True)
class Upload:
    id: int
    filename: str
    size: int

Cursor = Annotated[str | None, Query(max_length=500)]
Keyword = Annotated[str, Query(max_length=100)]


@router.get("/matters", include_in_schema=False)
def hall(request: Request, _principal: PagePrincipal, keyword: Keyword = "", region_id: int | None = None,
         unit_id: int | None = None, cursor: Cursor = None) -> Response:
    with reading(request) as session:
        page = queries.find_matters(session, keyword=keyword, region_id=region_id, handling_unit_id=unit_id,
                                    limit=PAGE_SIZE, cursor=cursor)
        if is_htmx(request):
            return render(request, "matters/_rows.html", _rows_context(page, keyword, region_id, unit_id),
                          partial=True)
        all_regions = [Choice(r.id, r.name) for r in regions(session)]
        units = [Choice(u.id, u.name) for u in units_by_region(session, region_id=region_id)] if region_id else []
    context = {"regions": all_regions, "units": units, "keyword": keyword, "region_id": region_id,
               "unit_id": unit_id, **_rows_context(page, keyword, region_id, unit_id)}
    return render(request, "matters/hall.html", context)


def _rows_context(page: Any, keyword: str, region_id: int | None, unit_id: int | None) -> dict[str, Any]:
    more = None
    if page.next_cursor:
        more = {k: v for k, v in (("keyword", keyword), ("region_id", region_id), ("unit_id", unit_id),
                                  ("cursor", page.next_cursor)) if v}
    return {"items": page.items, "more": more}


def _published(request: Request, matter_id: int) -> MatterDetail:
    with reading(request) as session:
        matter = queries.matter_detail(session, local_matter_id=matter_id)
    if matter.current_version is None or matter.status != "published":
        raise NotFound(code="matter_not_published", detail="该事项没有已发布的版本，暂不能申请")
    return matter


@router.get("/matters/{matter_id}", include_in_schema=False)
def matter_page(matter_id: int, request: Request, _principal: PagePrincipal) -> Response:
    with reading(request) as session:
        matter = queries.matter_detail(session, local_matter_id=matter_id)
    version = matter.current_version
    context: dict[str, Any] = {"m": matter, "v": version}
    if version is not None:
        context |= {
            "schema": schema_of(version.form_schema), "materials": parse_materials(version.materials),
            "diagram": diagram.diagram(version.process or {}, done=(), current=()),
            "state_labels": diagram.STATE_LABELS,
        }
    return render(request, "matters/page.html", context)


def _applicant_units(request: Request, principal: Principal) -> list[Choice]:
    with reading(request) as session:
        units = session.scalars(select(Unit).where(Unit.id.in_(sorted(principal.unit_ids))).order_by(Unit.id))
        return [Choice(u.id, u.name) for u in units]


def _prefill(request: Request, principal: Principal, matter_id: int, schema: Any = None) -> dict[str, Any]:
    """The last application's values of the same matter, then each field's own prefill source (the person's
    name and phone, the applicant unit's name and USCC — the person's first unit), else name and phone."""
    with reading(request) as session:
        last = case_queries.last_application_form(session, principal=principal, local_matter_id=matter_id)
        person = session.get(Person, principal.id)
        name, phone = (person.name, person.phone) if person is not None else (None, None)
        unit = session.get(Unit, min(principal.unit_ids)) if principal.unit_ids else None
        unit_name, uscc = (unit.name, unit.uscc) if unit is not None else (None, None)
    values = {f"f.{k}": v for k, v in last.items() if not isinstance(v, list) or not all(isinstance(i, int) for i in v)}
    sources = {"person.name": name, "person.phone": phone, "applicant_unit.name": unit_name,
               "applicant_unit.uscc": uscc}
    for field in schema.fields if schema is not None else ():
        source = sources.get(field.prefill or "")
        if source:
            values.setdefault(f"f.{field.key}", source)
    if name:
        values.setdefault("f.contact", name)
    if phone:
        values.setdefault("f.phone", phone)
    return values


def _wizard(request: Request, principal: Principal, matter: MatterDetail, *, values: dict[str, Any],
            uploads: dict[str, list[Any]], unit_id: int | None, error: DomainError | None = None,
            step: str = "fill", draft: dict[str, Any] | None = None, answers: dict[str, str] | None = None,
            shared: dict[str, str] | None = None) -> Response:
    matter, asked, unanswered = situations.with_answers(matter, answers)  # 办理情形 first (_situations.html)
    if unanswered:
        step = "situations"
    version = matter.current_version
    assert version is not None
    schema = schema_of(version.form_schema)
    form_keys = frozenset(f.key for f in schema.fields)
    units = _applicant_units(request, principal)
    context = {
        "m": matter, "v": version, "schema": schema, "materials": parse_materials(version.materials),
        "values": values, "uploads": uploads, "units": units, "unit_id": unit_id,
        "error": error, "errors": field_errors(error, form_keys) if error else {}, "step": step,
        "accept": {m.code: ",".join(f".{x}" for x in m.formats) for m in parse_materials(version.materials)},
        "draft": draft, **asked,
        **shared_offers(request, parse_materials(version.materials), unit_id or (units[0].id if units else None),
                        shared),
    }
    status = STATUS_BY_KIND.get(error.kind, 422) if error else 200
    return render(request, "matters/apply.html", context, status_code=status)


def shared_offers(request: Request, materials: list[Material], unit_id: int | None,
                  chosen: dict[str, str] | None) -> dict[str, Any]:
    """减材料: the applicant unit's document on file for each material with a shared kind, linked by default
    (``chosen`` None: first showing) unless the applicant unticked it; see ``templates/matters/_shared.html``."""
    if unit_id is None or not any(m.shared_kind for m in materials):
        return {"offers": {}, "shared": {}}
    with reading(request) as session:
        found = material_queries.offers(session, unit_id=unit_id, materials=materials,
                                        today=material_service.today(settings_of(request).timezone))
    if chosen is None:
        chosen = {code: offer.value for code, offer in found.items() if offer.usable}
    return {"offers": found, "shared": chosen}


def posted_shared(data: FormData) -> dict[str, str]:
    """The ticked ``shared.<code>`` boxes: ``v<version id>`` or ``r<document id>``."""
    return {key.removeprefix("shared."): value for key, value in data.items()
            if key.startswith("shared.") and isinstance(value, str) and value[:1] in ("v", "r") and value[1:].isdigit()}


def _links(shared: dict[str, str]) -> tuple[dict[str, int], dict[str, int]]:
    versions = {code: int(value[1:]) for code, value in shared.items() if value.startswith("v")}
    results = {code: int(value[1:]) for code, value in shared.items() if value.startswith("r")}
    return versions, results


@router.get("/matters/{matter_id}/apply", include_in_schema=False)
def apply_page(matter_id: int, request: Request, principal: PagePrincipal) -> Response:
    matter = _published(request, matter_id)
    assert matter.current_version is not None
    with reading(request) as session:
        draft = drafts.draft_of(session, person_id=person_id(principal), local_matter_id=matter_id)
        kept = (draft.values, draft.materials, draft.applicant_unit_id, draft.updated_at, draft.matter_version_id
                ) if draft else None
    if kept is None:
        values = _prefill(request, principal, matter_id, schema_of(matter.current_version.form_schema))
        return _wizard(request, principal, matter, values=values, uploads={}, unit_id=None)
    values, materials, unit_id, saved_at, version_id = kept
    note = {"saved_at": saved_at, "resumed": True, "outdated": version_id != matter.current_version.id}
    return _wizard(request, principal, matter, values=values, uploads=_uploads(request, principal, materials),
                   unit_id=unit_id, draft=note)


def _uploads(request: Request, principal: Principal, materials: dict[str, list[int]]) -> dict[str, list[Any]]:
    """The attachments already uploaded for this application (only the person's own, not yet used)."""
    ids = sorted({i for v in materials.values() for i in v})
    if not ids:
        return {}
    with reading(request) as session:
        rows = {a.id: Upload(a.id, a.filename, a.size) for a in session.scalars(select(Attachment).where(
            Attachment.id.in_(ids), Attachment.uploaded_by_id == principal.id, Attachment.case_id.is_(None)))}
    return {code: [rows[i] for i in v if i in rows] for code, v in materials.items()}


@router.post("/matters/{matter_id}/apply", include_in_schema=False)
async def apply(matter_id: int, request: Request, principal: PagePrincipal) -> Response:
    return await with_posted_form(request, _apply, request, principal, matter_id)


def _apply(request: Request, principal: Principal, matter_id: int, data: FormData) -> Response:
    answers = situations.answers_from(data)
    matter, _asked, unanswered = situations.with_answers(_published(request, matter_id), answers)
    assert matter.current_version is not None
    schema = schema_of(matter.current_version.form_schema)
    form, materials = posted_form(schema, data), posted_materials(data)
    unit = data.get("applicant_unit_id")
    unit_id = int(unit) if isinstance(unit, str) and unit.isdigit() else None
    file_keys = {f.key for f in schema.file_fields()}
    values = {f"f.{k}": v for k, v in form.items() if k not in file_keys}  # files come back as uploads
    uploads = _uploads(request, principal, materials)
    shared = posted_shared(data)
    again = {"values": values, "uploads": uploads, "unit_id": unit_id, "answers": answers, "shared": shared}
    matter = _published(request, matter_id)  # _wizard applies the answers itself
    if unanswered or data.get("step") == "situations":
        error = InvalidInput(code="situation_invalid", detail="请回答办理情形的问题", errors=unanswered)
        return _wizard(request, principal, matter, error=error if unanswered and answers else None, **again)
    if data.get("step") == "edit":  # back from the review to change something
        return _wizard(request, principal, matter, **again)
    if data.get("step") == "draft":  # 保存草稿 (without JavaScript: the whole page again)
        saved_at = _save_draft(request, principal, matter, values, materials, unit_id)
        return _wizard(request, principal, matter, draft={"saved_at": saved_at, "saved": True}, **again)
    if data.get("step") == "review":  # check the form before showing the review; submit checks everything again
        _cleaned, problems = validate_form(schema, form)
        if problems or unit_id is None:
            errors = [FieldProblem(p.key, p.message, p.code) for p in problems]
            if unit_id is None:
                errors.append(FieldProblem("applicant_unit_id", "请选择申请单位", "required"))
            error = InvalidInput(code="form_invalid", detail=f"有 {len(errors)} 处需要修改", errors=errors)
            return _wizard(request, principal, matter, error=error, **again)
        return _wizard(request, principal, matter, step="review", **again)
    linked_versions, linked_results = _links(shared)
    try:
        with writing(request) as session:
            case_id, _number = cases.submit_case(
                session, principal=principal, local_matter_id=matter_id, applicant_unit_id=unit_id or 0, form=form,
                materials=materials, channel=_channel(request), tz=settings_of(request).timezone,
                situation=answers or None,
                shared_materials=linked_versions, reused_results=linked_results, settings=settings_of(request),
            )
            drafts.discard_draft(session, person_id=person_id(principal), local_matter_id=matter_id)
    except DomainError as exc:
        if exc.kind == "unauthenticated":
            raise
        return _wizard(request, principal, matter, error=exc, **again)
    return RedirectResponse(f"/cases/{case_id}?done=submit", status_code=303)


def _save_draft(request: Request, principal: Principal, matter: MatterDetail, values: dict[str, Any],
                materials: dict[str, list[int]], unit_id: int | None) -> datetime:
    assert matter.current_version is not None
    with writing(request) as session:
        draft = drafts.save_draft(
            session, person_id=person_id(principal), local_matter_id=matter.id,
            matter_version_id=matter.current_version.id, applicant_unit_id=unit_id, values=values,
            materials=materials,
        )
        return draft.updated_at


@router.post("/matters/{matter_id}/draft", include_in_schema=False)
async def autosave(matter_id: int, request: Request, principal: PagePrincipal) -> Response:
    """The wizard saves itself (htmx, a moment after each change or upload): just the status line back."""
    return await with_posted_form(request, _autosave, request, principal, matter_id)


def _autosave(request: Request, principal: Principal, matter_id: int, data: FormData) -> Response:
    matter = _published(request, matter_id)
    assert matter.current_version is not None
    schema = schema_of(matter.current_version.form_schema)
    form, materials = posted_form(schema, data), posted_materials(data)
    unit = data.get("applicant_unit_id")
    unit_id = int(unit) if isinstance(unit, str) and unit.isdigit() else None
    file_keys = {f.key for f in schema.file_fields()}
    values = {f"f.{k}": v for k, v in form.items() if k not in file_keys}
    try:
        saved_at = _save_draft(request, principal, matter, values, materials, unit_id)
    except DomainError as exc:
        if exc.kind == "unauthenticated":
            raise
        return render(request, "matters/_draft_status.html", {"failed": exc.detail}, partial=True)
    return render(request, "matters/_draft_status.html", {"draft": {"saved_at": saved_at, "saved": True}},
                  partial=True)


@router.post("/matters/{matter_id}/draft/delete", include_in_schema=False)
def delete_draft(matter_id: int, request: Request, principal: PagePrincipal) -> Response:
    with writing(request) as session:
        drafts.discard_draft(session, person_id=person_id(principal), local_matter_id=matter_id, missing_ok=False)
    return RedirectResponse(f"/matters/{matter_id}/apply", status_code=303)


def _channel(request: Request) -> str:
    """掌上办 from a phone's browser (the government messaging app's web view), else 网办."""
    agent = request.headers.get("user-agent", "")
    return Channel.MOBILE.value if "Mobile" in agent or "Android" in agent else Channel.WEB.value


@router.post("/matters/{matter_id}/uploads/{code}", include_in_schema=False)
async def upload(matter_id: int, code: str, request: Request, principal: PagePrincipal) -> Response:
    return await with_posted_form(request, _upload, request, principal, matter_id, code)


def _upload(request: Request, principal: Principal, matter_id: int, code: str, data: FormData) -> Response:
    """One file for one material: stored, typed by its content, checked against the material's formats and size."""
    matter = _published(request, matter_id)
    assert matter.current_version is not None
    material = next((m for m in parse_materials(matter.current_version.materials) if m.code == code), None)
    if material is None:
        raise NotFound(code="material_not_found", detail="该事项没有这项材料")
    files = [v for v in data.values() if isinstance(v, UploadFile)]
    try:
        if not files:
            raise InvalidInput(code="file_required", detail="请选择要上传的文件")
        with writing(request) as session:
            stored = [_store(session, request, principal, material, f) for f in files]
    except DomainError as exc:
        if exc.kind == "unauthenticated":
            raise
        context = {"material": material, "message": exc.detail}
        return render(request, "matters/_upload_error.html", context, status_code=STATUS_BY_KIND.get(exc.kind, 422),
                      partial=True)
    response = render(request, "matters/_uploaded.html", {"material": material, "files": stored}, partial=True)
    response.headers["HX-Trigger"] = "uploaded"  # the wizard's draft saves itself with the new file
    return response


def _store(session: Any, request: Request, principal: Principal, material: Material, file: UploadFile) -> Any:
    settings = settings_of(request)
    stored = attachments.store_upload(
        session, principal=principal, filename=file.filename or "", stream=file.file, declared_type=file.content_type,
        material_code=material.code, settings=settings, max_bytes=material.max_size_bytes,
    )
    if not material.allows_format(format_of(stored.content_type) or ""):
        raise InvalidInput(code="bad_format", detail=f"“{material.name}”只接受 {'、'.join(material.formats)} 格式："
                                                     f"{stored.filename}")
    return Upload(stored.id, stored.filename, stored.size)
