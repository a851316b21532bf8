"""The matter editor's granularity page, ``/admin/matters/{id}/granularity``: the matter's lineage, splitting its
base matter into sub-items and merging it with other matters into one joint matter (一件事), each with a
preview of the plan before anything is written. The rules are in ``catalog.granularity`` / ``catalog.merging``."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from xietong.catalog import drafts
from xietong.catalog.granularity import LEVEL_NAMES, lineage_of, parse_sub_item, plan_split, split_matter
from xietong.catalog.merging import Layout, merge_matters, plan_merge
from xietong.catalog.models import BaseMatter, LocalMatter, MatterVersion
from xietong.errors import DomainError, Forbidden, InvalidInput
from xietong.security.permissions import may_administer
from xietong.security.principal import Principal
from xietong.web.deps import audit, reading, writing
from xietong.web.pages.access import PagePrincipal
from xietong.web.pages.rendering import plain, render
from xietong.web.problems import STATUS_BY_KIND

router = APIRouter(prefix="/admin/matters")


def _context(request: Request, principal: Principal, matter_id: int) -> dict[str, Any]:
    with reading(request) as session:
        local = drafts.administered_matter(session, principal, matter_id)
        base = session.get(BaseMatter, local.base_matter_id)
        assert base is not None
        found = lineage_of(session, local_matter_id=matter_id)
        version = session.scalar(select(MatterVersion).where(
            MatterVersion.local_matter_id == matter_id).order_by(MatterVersion.number.desc()).limit(1))
        draft = session.scalar(select(MatterVersion).where(
            MatterVersion.local_matter_id == matter_id, MatterVersion.status == "draft"))
        return {
            "draft": plain(draft) if draft else None,
            "situations_text": json.dumps(draft.situations, ensure_ascii=False, indent=2)
            if draft is not None and draft.situations else "",
            "current_situations": version.situations if version else None,
            "local": plain(local), "base": plain(base), "level": LEVEL_NAMES.get(base.level, "事项"),
            "members": found.members, "edges": [e.model_dump() for e in found.edges],
            "materials": version.materials if version else [],
            "fields": [f["key"] for f in version.form_schema.get("fields", [])] if version else [],
            "may_split": may_administer(principal, "catalog", region_id=None),
        }


def _show(request: Request, principal: Principal, matter_id: int, status: int = 200, **extra: Any) -> Response:
    context = _context(request, principal, matter_id) | extra
    return render(request, "granularity/page.html", context, status_code=status)


@router.get("/{matter_id}/granularity", include_in_schema=False)
def page(matter_id: int, request: Request, principal: PagePrincipal, done: str = "") -> Response:
    return _show(request, principal, matter_id, done=done)


def _failed(request: Request, principal: Principal, matter_id: int, exc: DomainError, **extra: Any) -> Response:
    if exc.kind == "unauthenticated":
        raise exc
    return _show(request, principal, matter_id, STATUS_BY_KIND.get(exc.kind, 422), error=exc, **extra)


@router.post("/{matter_id}/granularity/split", include_in_schema=False)
async def split(matter_id: int, request: Request, principal: PagePrincipal) -> Response:
    data = await request.form()
    text, reason = str(data.get("items", "")), str(data.get("reason", ""))
    posted = {"part": "split", "posted_items": text, "posted_reason": reason}
    try:
        if not may_administer(principal, "catalog", region_id=None):
            raise Forbidden(code="not_catalog_admin", detail="拆分基本目录事项须是全市的事项管理员")
        items = [parse_sub_item(line) for line in text.splitlines() if line.strip()]
        if data.get("confirm") != "1":
            with reading(request) as session:
                local = drafts.administered_matter(session, principal, matter_id)
                plan = plan_split(session, base_matter_id=local.base_matter_id, items=items)
            return _show(request, principal, matter_id, split_plan=plan.described(), **posted)
        with writing(request) as session:
            local = drafts.administered_matter(session, principal, matter_id)
            publish = data.get("publish") == "1"
            result = split_matter(session, base_matter_id=local.base_matter_id, items=items, reason=reason,
                                  by_id=principal.id, publish=publish)
            audit(session, request, principal, "catalog.matter_split", target_kind="base_matter",
                  target_id=local.base_matter_id, operation=result.operation, reason=reason, published=publish,
                  children=[c.code for c in result.plan.children], local_matter_ids=result.local_ids)
    except DomainError as exc:
        return _failed(request, principal, matter_id, exc, **posted)
    return RedirectResponse(f"/admin/matters/{matter_id}/granularity?done=split", status_code=303)


@router.post("/{matter_id}/granularity/merge", include_in_schema=False)
async def merge(matter_id: int, request: Request, principal: PagePrincipal) -> Response:
    data = await request.form()
    codes = [c.strip() for c in str(data.get("codes", "")).split() if c.strip()]
    code, name, reason = (str(data.get(k, "")).strip() for k in ("code", "name", "reason"))
    layout: Layout = "parallel" if data.get("layout") == "parallel" else "sequential"
    posted = {"part": "merge", "posted_codes": " ".join(codes), "posted_code": code, "posted_name": name,
              "posted_reason": reason, "posted_layout": layout}
    try:
        with reading(request) as session:
            drafts.administered_matter(session, principal, matter_id)
            ids = [matter_id]
            for other in codes:
                found = session.scalar(select(LocalMatter.id).where(LocalMatter.code == other))
                if found is None:
                    raise InvalidInput(code="matter_not_found", detail=f"实施清单事项不存在：{other}")
                drafts.administered_matter(session, principal, found)
                ids.append(found)
            if data.get("confirm") != "1":
                plan = plan_merge(session, local_matter_ids=ids, code=code, name=name, layout=layout)
                return _show(request, principal, matter_id, merge_plan=plan.described(), **posted)
        with writing(request) as session:
            publish = data.get("publish") == "1"
            result = merge_matters(session, local_matter_ids=ids, code=code, name=name, reason=reason,
                                   by_id=principal.id, publish=publish, layout=layout)
            described = result.plan.described()
            audit(session, request, principal, "catalog.matters_merged", target_kind="local_matter",
                  target_id=result.local_id, operation=result.operation, reason=reason, published=publish,
                  originals=[c for _, c in result.plan.originals], merged_materials=described["merged_materials"])
    except DomainError as exc:
        return _failed(request, principal, matter_id, exc, **posted)
    return RedirectResponse(f"/admin/matters/{result.local_id}/granularity?done=merged", status_code=303)


@router.post("/{matter_id}/versions/{version_id}/situations", include_in_schema=False)
async def save_situations(matter_id: int, version_id: int, request: Request, principal: PagePrincipal) -> Response:
    """A draft's 办理情形 as JSON (docs/form-schema.md); empty removes them. Refused with every problem."""
    data = await request.form()
    text = str(data.get("situations", "")).strip()
    try:
        try:
            situations = json.loads(text) if text else None
        except ValueError as exc:
            line = getattr(exc, "lineno", 1)
            raise InvalidInput(code="situations_invalid", detail=f"办理情形不是有效的 JSON（第 {line} 行）") from exc
        with writing(request) as session:
            drafts.administered_matter(session, principal, matter_id)
            version = drafts.editable(session, version_id)
            if version.local_matter_id != matter_id:
                raise InvalidInput(code="version_not_found", detail="事项版本不存在")
            drafts.save_situations(session, version=version, situations=situations)
            audit(session, request, principal, "catalog.draft_situations_saved", target_kind="matter_version",
                  target_id=version_id, questions=len((situations or {}).get("questions", [])))
    except DomainError as exc:
        return _failed(request, principal, matter_id, exc, part="situations", posted_situations=text)
    return RedirectResponse(f"/admin/matters/{matter_id}/granularity?done=situations", status_code=303)
