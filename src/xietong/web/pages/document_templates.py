"""文书模板 editor for administrators: the templates in force (the city's, or one matter's), edit one with a
preview filled with sample values; a template with errors is shown with each error and its line, never saved
or rendered in part. The services are ``documents.service``'s, the same as ``/api/v1/document-templates``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from xietong.documents import service
from xietong.documents.kinds import KINDS
from xietong.errors import Forbidden, InvalidInput, NotFound
from xietong.security.permissions import ADMIN_ROLES
from xietong.security.principal import Principal
from xietong.web.deps import reading, writing
from xietong.web.pages.access import PagePrincipal
from xietong.web.pages.rendering import render

router = APIRouter()
BASE = "/admin/documents/templates"
SOURCES = {"default": "系统默认", "city": "全市模板", "matter": "本事项模板"}
Body = Annotated[str, Form(max_length=40_000)]


def _require_admin(principal: Principal) -> None:
    """The page is for template administrators; which template one may save is checked again by the service."""
    if not any(grant.role in ADMIN_ROLES["catalog"] for grant in principal.grants):
        raise Forbidden(code="not_allowed", detail="只有管理员可以编辑文书模板")


def _template(request: Request, kind: str, local_matter_id: int | None) -> dict[str, Any]:
    if kind not in KINDS:
        raise NotFound(code="unknown_document_kind", detail=f"没有这种文书：{kind}")
    with reading(request) as session:
        return next(t for t in service.templates(session, local_matter_id=local_matter_id) if t["kind"] == kind)


def _problems(error: InvalidInput) -> list[str]:
    return [p.message for p in error.errors] or [error.detail]


@router.get(BASE, include_in_schema=False)
def template_list(request: Request, principal: PagePrincipal, local_matter_id: int | None = None) -> Response:
    _require_admin(principal)
    with reading(request) as session:
        items = service.templates(session, local_matter_id=local_matter_id)
    return render(request, "admin/templates.html",
                  {"items": items, "sources": SOURCES, "local_matter_id": local_matter_id, "base": BASE})


@router.get(BASE + "/{kind}", include_in_schema=False)
def editor(kind: str, request: Request, principal: PagePrincipal, local_matter_id: int | None = None) -> Response:
    _require_admin(principal)
    template = _template(request, kind, local_matter_id)
    saved = request.query_params.get("saved") == "1"
    return render(request, "admin/template_edit.html",
                  {"t": template, "body": template["body"], "sources": SOURCES, "problems": [], "saved": saved,
                   "local_matter_id": local_matter_id, "base": BASE})


@router.post(BASE + "/{kind}/preview", include_in_schema=False)
def preview(kind: str, request: Request, principal: PagePrincipal, body: Body = "") -> Response:
    _require_admin(principal)
    try:
        context: dict[str, Any] = {"text": service.preview(kind, body), "problems": []}
    except InvalidInput as error:
        context = {"text": None, "problems": _problems(error)}
    return render(request, "admin/_template_preview.html", context, partial=True)


@router.post(BASE + "/{kind}", include_in_schema=False)
def save(kind: str, request: Request, principal: PagePrincipal, body: Body = "",
         local_matter_id: Annotated[int | None, Form()] = None) -> Response:
    _require_admin(principal)
    try:
        with writing(request) as session:
            service.save_template(session, principal=principal, kind=kind, body=body,
                                  local_matter_id=local_matter_id)
    except InvalidInput as error:
        template = _template(request, kind, local_matter_id)
        return render(request, "admin/template_edit.html",
                      {"t": template, "body": body, "sources": SOURCES, "problems": _problems(error),
                       "saved": False, "local_matter_id": local_matter_id, "base": BASE}, status_code=422)
    target = f"{BASE}/{kind}?saved=1" + (f"&local_matter_id={local_matter_id}" if local_matter_id else "")
    return RedirectResponse(target, status_code=303)
