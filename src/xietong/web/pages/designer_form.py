"""The form designer: a draft version's form fields — add, order, configure (the foundation's types and rules),
conditional visibility and prefill sources — with a live preview at desktop and phone width rendered by the
wizard's own field macros (``matters/_fields.html``). Every edit is an htmx post answering the workspace
(fields, editor, preview); an edit that would make the schema invalid is refused with every problem and
nothing is saved (``catalog.forms.editing`` builds the schema, ``catalog.drafts.save_content`` checks it)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from xietong.catalog import drafts
from xietong.catalog.forms import FormSchemaError, parse_form_schema
from xietong.catalog.forms import editing as forms_editing
from xietong.catalog.models import LocalMatter, MatterVersion
from xietong.errors import DomainError, FieldProblem, InvalidInput
from xietong.security.principal import Principal
from xietong.web.deps import audit, reading, writing
from xietong.web.pages.access import PagePrincipal
from xietong.web.pages.rendering import is_htmx, plain, render
from xietong.web.problems import STATUS_BY_KIND

router = APIRouter(prefix="/admin/matters")
FieldKey = Annotated[str, Query(max_length=40)]
BASE = "/admin/matters/{matter_id}/versions/{version_id}/form"


def _load(session: Any, principal: Principal, matter_id: int, version_id: int) -> tuple[LocalMatter, MatterVersion]:
    local = drafts.administered_matter(session, principal, matter_id)
    version = drafts.administered_version(session, principal, version_id)
    if version.local_matter_id != local.id:
        raise InvalidInput(code="version_mismatch", detail="该版本不属于这个事项")
    return local, version


def _context(local: LocalMatter, version: MatterVersion, *, key: str | None, schema_json: dict[str, Any] | None = None,
             error: DomainError | None = None, editing: dict[str, Any] | None = None) -> dict[str, Any]:
    raw = schema_json if schema_json is not None else version.form_schema
    try:
        schema = parse_form_schema(raw)
    except FormSchemaError:
        schema = parse_form_schema(version.form_schema)  # a refused edit: preview what is saved
        raw = version.form_schema
    fields = raw.get("fields") or []
    selected = next((f for f in fields if f.get("key") == key), None)
    shown = dict(selected or {}) | (editing or {})
    return {
        "local": plain(local), "version": plain(version), "schema": schema, "fields": fields, "selected": selected,
        "edit": shown,
        "error": error, "types": forms_editing.TYPE_LABELS, "prefills": forms_editing.PREFILL_LABELS,
        "options_text": forms_editing.options_text(shown), "readonly": version.status != "draft",
        "base": BASE.format(matter_id=local.id, version_id=version.id),
        "earlier": [f for f in fields[: fields.index(selected)]] if selected else fields,
        "materials": [m.get("code") for m in version.materials if isinstance(m, dict)],
    }


def _answer(request: Request, context: dict[str, Any], *, status: int = 200) -> Response:
    if is_htmx(request):
        return render(request, "designer/_form_workspace.html", context, status_code=status, partial=True)
    if status == 200:
        where = context["base"] + (f"?key={context['selected']['key']}" if context["selected"] else "")
        return RedirectResponse(where, status_code=303)
    return render(request, "designer/form.html", context, status_code=status)


@router.get("/{matter_id}/versions/{version_id}/form", include_in_schema=False)
def form_page(matter_id: int, version_id: int, request: Request, principal: PagePrincipal,
              key: FieldKey = "") -> Response:
    with reading(request) as session:
        local, version = _load(session, principal, matter_id, version_id)
        context = _context(local, version, key=key or None)
    if is_htmx(request):
        return render(request, "designer/_form_workspace.html", context, partial=True)
    return render(request, "designer/form.html", context)


def _edit(request: Request, principal: Principal, matter_id: int, version_id: int, change: Any,
          key_after: Any, action: str) -> Response:
    """Apply ``change`` (schema JSON → schema JSON) to the draft's form and save it, or show why not."""
    with reading(request) as session:
        local, version = _load(session, principal, matter_id, version_id)
        before = version.form_schema
    try:
        try:
            changed = change(before)
        except FormSchemaError as exc:
            raise _invalid(exc) from None
        with writing(request) as session:
            local, _ = _load(session, principal, matter_id, version_id)
            version = drafts.editable(session, version_id)
            drafts.save_content(session, version=version, form_schema=changed)
            audit(session, request, principal, "catalog.draft_form_saved", target_kind="matter_version",
                  target_id=version_id, edit=action)
            context = _context(local, version, key=key_after(changed))
    except DomainError as exc:
        if exc.kind == "unauthenticated":
            raise
        with reading(request) as session:
            local, version = _load(session, principal, matter_id, version_id)
            context = _context(local, version, key=key_after(None), error=exc)
        return _answer(request, context, status=STATUS_BY_KIND.get(exc.kind, 422))
    return _answer(request, context)


def _invalid(exc: FormSchemaError) -> InvalidInput:
    problems = [FieldProblem(p.path, f"{p.path}：{p.message}" if p.path else p.message, "form_schema")
                for p in exc.problems]
    return InvalidInput(code="form_invalid", detail=f"有 {len(problems)} 处问题，未保存", errors=problems)


def _text(data: FormData, name: str) -> str:
    value = data.get(name)
    return value.strip() if isinstance(value, str) else ""


@router.post("/{matter_id}/versions/{version_id}/form/fields", include_in_schema=False)
async def add(matter_id: int, version_id: int, request: Request, principal: PagePrincipal) -> Response:
    data = await request.form()
    key, type_, label = _text(data, "key"), _text(data, "type"), _text(data, "label")
    with reading(request) as session:
        _local, version = _load(session, principal, matter_id, version_id)
        codes = [str(m.get("code")) for m in version.materials if isinstance(m, dict)]
    return _edit(request, principal, matter_id, version_id,
                 lambda schema: forms_editing.add_field(schema, type_=type_, key=key, label=label,
                                                        material=codes[0] if codes else ""),
                 lambda changed: key if changed is not None else None, "add")


@router.post("/{matter_id}/versions/{version_id}/form/fields/{key}", include_in_schema=False)
async def configure(matter_id: int, version_id: int, key: str, request: Request, principal: PagePrincipal) -> Response:
    data = await request.form()
    inputs = {k: v for k, v in data.items() if isinstance(v, str)}
    with reading(request) as session:
        _local, version = _load(session, principal, matter_id, version_id)
        old = next((f for f in version.form_schema.get("fields", []) if f.get("key") == key), None)
    if old is None:
        raise InvalidInput(code="field_not_found", detail=f"没有这个字段：{key}")

    def change(schema: dict[str, Any]) -> dict[str, Any]:
        return forms_editing.replace_field(schema, key=key,
                                           field=forms_editing.field_from_inputs(str(old["type"]), inputs))

    return _edit(request, principal, matter_id, version_id, change, lambda _changed: key, "configure")


@router.post("/{matter_id}/versions/{version_id}/form/fields/{key}/move", include_in_schema=False)
async def move(matter_id: int, version_id: int, key: str, request: Request, principal: PagePrincipal) -> Response:
    data = await request.form()
    offset = -1 if _text(data, "by") == "up" else 1
    return _edit(request, principal, matter_id, version_id,
                 lambda schema: forms_editing.move_field(schema, key=key, offset=offset), lambda _c: key, "move")


@router.post("/{matter_id}/versions/{version_id}/form/fields/{key}/remove", include_in_schema=False)
def remove(matter_id: int, version_id: int, key: str, request: Request, principal: PagePrincipal) -> Response:
    return _edit(request, principal, matter_id, version_id,
                 lambda schema: forms_editing.remove_field(schema, key=key),
                 lambda changed: None if changed is not None else key, "remove")


@router.post("/{matter_id}/versions/{version_id}/form/preview/{key}", include_in_schema=False)
async def preview(matter_id: int, version_id: int, key: str, request: Request, principal: PagePrincipal) -> Response:
    """The preview with the field being edited as it is typed (nothing saved); problems are shown, not raised."""
    data = await request.form()
    inputs = {k: v for k, v in data.items() if isinstance(v, str)}
    with reading(request) as session:
        _local, version = _load(session, principal, matter_id, version_id)
        saved: dict[str, Any] = version.form_schema
    old = next((f for f in saved.get("fields", []) if f.get("key") == key), None)
    schema, problems = saved, []
    if old is not None:
        try:
            candidate = forms_editing.replace_field(
                saved, key=key, field=forms_editing.field_from_inputs(str(old["type"]), inputs))
            parse_form_schema(candidate)
            schema = candidate
        except FormSchemaError as exc:
            problems = [f"{p.path}：{p.message}" if p.path else p.message for p in exc.problems]
    context = {"schema": parse_form_schema(schema), "problems": problems}
    return render(request, "designer/_form_preview.html", context, partial=True)
