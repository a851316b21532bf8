"""Form posts ↔ the JSON a service takes: a matter version's form fields are named ``f.<key>`` (table cells
``f.<key>.<row>.<column>``) and a material's uploaded attachment ids ``m.<code>``. Validation stays in
``catalog.forms`` / ``submit_case``; this only reshapes what the browser sent and maps problems back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from xietong.catalog.forms import FormSchema, parse_form_schema
from xietong.catalog.forms.model import FileField, SelectField, TableField
from xietong.errors import DomainError

MAX_TABLE_ROWS = 200


def schema_of(raw: dict[str, Any]) -> FormSchema:
    return parse_form_schema(raw)


def posted_form(schema: FormSchema, data: FormData) -> dict[str, Any]:
    """The form's values as ``validate_form`` expects them; blank fields are left out (that is "missing")."""
    values: dict[str, Any] = {}
    for field in schema.fields:
        name = f"f.{field.key}"
        if isinstance(field, FileField):  # a file field holds the ids uploaded for its material
            ids = [int(v) for v in data.getlist(f"m.{field.material}") if isinstance(v, str) and v.isdigit()]
            if ids:
                values[field.key] = ids
        if isinstance(field, SelectField) and field.multiple:
            chosen = [v for v in data.getlist(name) if isinstance(v, str) and v]
            if chosen:
                values[field.key] = chosen
        elif isinstance(field, TableField):
            rows = _table(field, data)
            if rows:
                values[field.key] = rows
        else:
            value = data.get(name)
            if isinstance(value, str) and value.strip():
                values[field.key] = value
    return values


def _table(field: TableField, data: FormData) -> list[dict[str, Any]]:
    rows = []
    for n in range(MAX_TABLE_ROWS):
        cells = {c.key: data.get(f"f.{field.key}.{n}.{c.key}") for c in field.columns}
        if all(v is None for v in cells.values()):
            break
        kept = {k: v for k, v in cells.items() if isinstance(v, str) and v.strip()}
        if kept:
            rows.append(kept)
    return rows


def posted_materials(data: FormData) -> dict[str, list[int]]:
    materials: dict[str, list[int]] = {}
    for name in {k for k in data if k.startswith("m.")}:
        ids = [int(v) for v in data.getlist(name) if isinstance(v, str) and v.isdigit()]
        if ids:
            materials[name[2:]] = ids
    return materials


def field_errors(error: DomainError, form_keys: frozenset[str] = frozenset()) -> dict[str, list[str]]:
    """Problems keyed by the page's input names: a form field ``x`` (or a cell ``x[2].y``) → ``f.x``,
    ``materials.M01`` → ``m.M01``; other names (a dialog's own inputs) stay as they are."""
    found: dict[str, list[str]] = {}
    prefix = error.code.split("_")[0]
    if not error.errors and prefix in DIALOG_INPUTS:  # e.g. reason_required: the service names the input
        found[prefix] = [error.detail]
    for problem in error.errors:
        name, message = problem.field, problem.message
        base = name.split("[")[0].split(".")[0]
        if name.startswith("materials."):
            name = "m." + name.removeprefix("materials.")
        elif base in form_keys:
            if name != base:
                message = f"{name.removeprefix(base)}：{message}"
            name = f"f.{base}"
        found.setdefault(name, []).append(message)
    return found


# A dialog's own inputs: a service error whose code starts with one of them (reason_required) belongs to it.
DIALOG_INPUTS = frozenset({
    "reason", "opinion", "note", "comment", "content", "items", "target", "level", "result", "answer",
})


async def with_posted_form(request: Request, handle: Callable[..., Response], *args: Any) -> Response:
    """``handle(*args, form)`` with the request's parsed form, in a worker thread (the services are synchronous
    and must not hold the event loop); the uploads' temporary files are closed afterwards, whatever happened."""
    form = await request.form()
    try:
        return await run_in_threadpool(handle, *args, form)
    finally:
        await form.close()
