"""The process designer: a draft version's process in the vendored bpmn-js modeler (``static/js/designer.js``
adds the xietong properties panel). The page fetches the draft as BPMN — the kept invalid drawing if there is
one, else our export — and saving posts the modeler's XML; ``catalog.drafts.save_process`` imports and
validates it and answers the problems (an invalid drawing is kept, the draft then cannot be published).

The page runs under the same CSP as every other (no inline scripts or styles, no ``eval``): bpmn-js 18 places
its overlays through the CSSOM (``element.style``), which the policy allows, and loads its fonts and CSS from
``/static/vendor/bpmn-js/``; the browser test fails on any CSP violation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from xietong.catalog import drafts
from xietong.catalog.bpmn_io import MAX_BPMN_BYTES
from xietong.errors import DomainError, InvalidInput
from xietong.web.deps import audit, reading, writing
from xietong.web.pages.access import PagePrincipal
from xietong.web.pages.rendering import plain, render
from xietong.web.problems import STATUS_BY_KIND

router = APIRouter(prefix="/admin/matters")


@router.get("/{matter_id}/versions/{version_id}/process", include_in_schema=False)
def designer_page(matter_id: int, version_id: int, request: Request, principal: PagePrincipal) -> Response:
    with reading(request) as session:
        local = drafts.administered_matter(session, principal, matter_id)
        version = drafts.administered_version(session, principal, version_id)
        if version.local_matter_id != local.id:
            raise InvalidInput(code="version_mismatch", detail="该版本不属于这个事项")
        _xml, problems = drafts.designer_bpmn(session, version)
        context = {"local": plain(local), "version": plain(version), "problems": problems}
    return render(request, "designer/process.html", context)


@router.get("/{matter_id}/versions/{version_id}/process.bpmn", include_in_schema=False)
def designer_bpmn(matter_id: int, version_id: int, request: Request, principal: PagePrincipal) -> Response:
    with reading(request) as session:
        version = drafts.administered_version(session, principal, version_id)
        xml, _problems = drafts.designer_bpmn(session, version)
    return Response(xml, media_type="application/xml")


@router.post("/{matter_id}/versions/{version_id}/process", include_in_schema=False)
async def save(matter_id: int, version_id: int, request: Request, principal: PagePrincipal) -> Response:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BPMN_BYTES:
            break
    try:
        with writing(request) as session:
            drafts.administered_version(session, principal, version_id)
            version = drafts.editable(session, version_id)
            problems = drafts.save_process(session, version=version, bpmn=body, person_id=principal.id)
            audit(session, request, principal, "catalog.draft_process_saved", target_kind="matter_version",
                  target_id=version_id, valid=not problems, problems=len(problems))
    except DomainError as exc:  # the page's script shows these; nothing was saved
        if exc.kind == "unauthenticated":
            raise
        refused = {"valid": False, "saved": False, "message": exc.detail,
                   "problems": [{"element": "", "line": 0, "message": p.message, "code": p.code} for p in exc.errors]}
        return JSONResponse(refused, status_code=STATUS_BY_KIND.get(exc.kind, 422))
    answer: dict[str, Any] = {
        "valid": not problems, "saved": True,
        "message": "流程已保存，校验通过" if not problems
        else f"流程已保存，但有 {len(problems)} 处问题，修改前不能发布",
        "problems": [p.__dict__ for p in problems],
    }
    return JSONResponse(answer)
