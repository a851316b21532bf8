"""OA 来文: a unit's OA documents — read one, start a case of a chosen matter from it, or decline it (退文).

The pages call ``integrations.oa.service`` like the API does; the start page renders the chosen matter's form
with the wizard's fields and lets the clerk say which attachment is which material.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from xietong.catalog import queries
from xietong.catalog.forms import parse_materials
from xietong.db.base import utcnow
from xietong.errors import DomainError, NotFound
from xietong.integrations.oa import service
from xietong.security.principal import Principal
from xietong.web.deps import reading, settings_of, writing
from xietong.web.pages.access import PagePrincipal
from xietong.web.pages.forms import field_errors, posted_form, schema_of, with_posted_form
from xietong.web.pages.rendering import render
from xietong.web.problems import STATUS_BY_KIND

router = APIRouter()
STATES = {"new": "待处理", "started": "已发起办件", "declined": "已退文"}
NOT_A_MATERIAL = ""


@router.get("/oa", include_in_schema=False)
def inbox(request: Request, principal: PagePrincipal, state: Literal["new", "started", "declined"] = "new"
          ) -> Response:
    with reading(request) as session:  # rendered inside: the rows are read as the template walks them
        documents = service.inbox(session, principal=principal, state=state, limit=100)
        return render(request, "oa/inbox.html", {"documents": documents, "state": state, "states": STATES})


@router.get("/oa/{document_id}", include_in_schema=False)
def document_page(document_id: int, request: Request, principal: PagePrincipal,
                  keyword: Annotated[str, Query(max_length=100)] = "") -> Response:
    with reading(request) as session:
        document = service.document_for(session, principal=principal, document_id=document_id)
        matters = queries.find_matters(session, keyword=keyword, limit=10).items if keyword.strip() else []
        return render(request, "oa/document.html", {"d": document, "states": STATES, "keyword": keyword,
                                                    "matters": matters})


def _matter(request: Request, matter_id: int) -> Any:
    with reading(request) as session:
        matter = queries.matter_detail(session, local_matter_id=matter_id)
    if matter.current_version is None or matter.status != "published":
        raise NotFound(code="matter_not_published", detail="该事项没有已发布的版本，暂不能申请")
    return matter


def _start_page(request: Request, principal: Principal, document_id: int, matter: Any, *,
                values: dict[str, Any], chosen: dict[int, str], error: DomainError | None = None) -> Response:
    schema = schema_of(matter.current_version.form_schema)
    with reading(request) as session:
        document = service.document_for(session, principal=principal, document_id=document_id)
        context = {"d": document, "m": matter, "schema": schema, "values": values, "chosen": chosen,
                   "materials": parse_materials(matter.current_version.materials), "error": error,
                   "errors": field_errors(error, frozenset(f.key for f in schema.fields)) if error else {}}
        return render(request, "oa/start.html", context,
                      status_code=STATUS_BY_KIND.get(error.kind, 422) if error else 200)


@router.get("/oa/{document_id}/start", include_in_schema=False)
def start_page(document_id: int, request: Request, principal: PagePrincipal, matter: int) -> Response:
    with reading(request) as session:
        title = service.document_for(session, principal=principal, document_id=document_id).title
    return _start_page(request, principal, document_id, _matter(request, matter), values={"f.title": title},
                       chosen={})


@router.post("/oa/{document_id}/start", include_in_schema=False)
async def start(document_id: int, request: Request, principal: PagePrincipal, matter: int) -> Response:
    return await with_posted_form(request, _start, request, principal, document_id, matter)


def _start(request: Request, principal: Principal, document_id: int, matter_id: int, data: FormData) -> Response:
    matter = _matter(request, matter_id)
    schema = schema_of(matter.current_version.form_schema)
    form = posted_form(schema, data)
    chosen = {int(k[2:]): v for k, v in data.items() if k.startswith("a.") and k[2:].isdigit() and isinstance(v, str)}
    materials: dict[str, list[int]] = {}
    for position, code in sorted(chosen.items()):
        if code != NOT_A_MATERIAL:
            materials.setdefault(code, []).append(position)
    try:
        with writing(request) as session:
            case_id, _number = service.start_case(
                session, principal=principal, document_id=document_id, local_matter_id=matter_id, form=form,
                materials=materials, settings=settings_of(request), now=utcnow(),
            )
    except DomainError as exc:
        if exc.kind in ("unauthenticated", "not_found"):
            raise
        values = {f"f.{k}": v for k, v in form.items()}
        return _start_page(request, principal, document_id, matter, values=values, chosen=chosen, error=exc)
    return RedirectResponse(f"/cases/{case_id}?done=submit", status_code=303)


@router.post("/oa/{document_id}/decline", include_in_schema=False)
async def decline(document_id: int, request: Request, principal: PagePrincipal) -> Response:
    data = await request.form()
    reason = data.get("reason")

    def run() -> Response:
        try:
            with writing(request) as session:
                service.decline(session, principal=principal, document_id=document_id,
                                reason=reason if isinstance(reason, str) else "", now=utcnow())
        except DomainError as exc:
            if exc.kind in ("unauthenticated", "not_found"):
                raise
            with reading(request) as session:
                document = service.document_for(session, principal=principal, document_id=document_id)
                return render(request, "oa/document.html", {"d": document, "states": STATES, "keyword": "",
                                                            "matters": [], "decline_error": exc.detail},
                              status_code=STATUS_BY_KIND.get(exc.kind, 422))
        return RedirectResponse("/oa?state=declined", status_code=303)

    return await run_in_threadpool(run)
