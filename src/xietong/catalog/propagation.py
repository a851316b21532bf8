"""Base catalogue changes offered to every implementation: change a base matter, accept or decline per region.

A change to a base matter's templates (form, materials, process) or legal limit is stored as a numbered
``base_change`` holding the new value of each part that changed, and offered (``base_change_offer``) to every
published implementation. Accepting drafts and publishes a new version of that implementation from its current
one with the changed parts applied — running cases keep the version they were submitted under; declining needs
a reason. Every operation runs in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xietong.catalog.forms import FormSchemaError, check_file_fields, parse_form_schema, parse_materials
from xietong.catalog.models import (
    BaseChange,
    BaseChangeOffer,
    BaseMatter,
    LocalMatter,
    MatterVersion,
    ProcessDefinition,
)
from xietong.catalog.service import draft_version, publish_version
from xietong.db.base import utcnow
from xietong.engine.definition import compile_process
from xietong.engine.errors import ProcessDefinitionError
from xietong.errors import Conflict, FieldProblem, InvalidInput, NotFound

PARTS = ("form_template", "materials_template", "process_template", "legal_limit_days")


@dataclass(frozen=True)
class AcceptedOffer:
    """The outcome of accepting an offer; ``clamped_from`` is the promised limit cut down to the new legal one."""

    offer: BaseChangeOffer
    version: MatterVersion
    clamped_from: int | None


@dataclass(frozen=True)
class PendingOffer:
    """One undecided offer as an administrator's list shows it."""

    offer_id: int
    change_id: int
    change_number: int
    summary: str
    parts: list[str]
    base_matter_id: int
    base_code: str
    local_matter_id: int
    local_code: str
    local_name: str
    region_id: int
    created_at: datetime


def change_base(
    session: Session,
    *,
    base_matter_id: int,
    actor_id: int,
    summary: str,
    form_template: dict[str, Any] | None = None,
    materials_template: list[Any] | None = None,
    process_template: dict[str, Any] | None = None,
    legal_limit_days: int | None = None,
) -> BaseChange:
    """Change a base matter's templates or legal limit and offer the change to each published implementation."""
    base = session.get(BaseMatter, base_matter_id, with_for_update=True)
    if base is None:
        raise NotFound(code="base_matter_not_found", detail="基本目录事项不存在")
    given = {"form_template": form_template, "materials_template": materials_template,
             "process_template": process_template, "legal_limit_days": legal_limit_days}  # fmt: skip
    changes = {part: value for part, value in given.items() if value is not None}
    _check_change(base, changes, summary)
    for part, value in changes.items():
        setattr(base, part, value)
    number = session.scalar(
        select(func.coalesce(func.max(BaseChange.number), 0)).where(BaseChange.base_matter_id == base.id)
    )
    change = BaseChange(
        base_matter_id=base.id, number=(number or 0) + 1, summary=summary.strip(), changes=changes,
        created_by_id=actor_id,
    )  # fmt: skip
    session.add(change)
    session.flush()
    published = select(LocalMatter.id).where(LocalMatter.base_matter_id == base.id, LocalMatter.status == "published")
    session.add_all(
        BaseChangeOffer(base_change_id=change.id, local_matter_id=local_id, state="pending", reason="")
        for local_id in session.scalars(published.order_by(LocalMatter.id))
    )
    session.flush()
    return change


def _check_change(base: BaseMatter, changes: dict[str, Any], summary: str) -> None:
    problems: list[FieldProblem] = []
    if not summary.strip():
        problems.append(FieldProblem("summary", "请填写变更说明", "required"))
    if not changes:
        problems.append(FieldProblem("changes", "没有任何变更内容", "no_change"))
    legal = changes.get("legal_limit_days")
    if legal is not None and (legal < 0 or (base.kind == "promised" and legal == 0)):
        problems.append(FieldProblem("legal_limit_days", "法定时限应为正整数（即办件可为 0）", "bad_limit"))
    problems += _template_problems(
        changes.get("form_template", base.form_template), changes.get("materials_template", base.materials_template)
    )
    if "process_template" in changes:
        try:
            compile_process(changes["process_template"])
        except ProcessDefinitionError as exc:
            problems += [FieldProblem(f"process_template.{p.field}", p.message, p.code) for p in exc.errors]
    if problems:
        raise InvalidInput(code="base_change_invalid", detail=f"基本目录变更有 {len(problems)} 处问题", errors=problems)


def _template_problems(form: dict[str, Any] | None, materials: list[Any] | None) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    schema = parsed = None
    try:
        schema = parse_form_schema(form) if form is not None else None
    except FormSchemaError as exc:
        problems += [FieldProblem(f"form_template.{p.path}", p.message, "schema") for p in exc.problems]
    try:
        parsed = parse_materials(materials) if materials is not None else None
    except FormSchemaError as exc:
        problems += [FieldProblem(f"materials_template.{p.path}", p.message, "schema") for p in exc.problems]
    if schema is not None and parsed is not None:
        problems += [
            FieldProblem(f"form_template.{p.path}", p.message, "schema") for p in check_file_fields(schema, parsed)
        ]
    return problems


def accept_offer(session: Session, *, offer_id: int, actor_id: int) -> AcceptedOffer:
    """Accept a change for one implementation: a new version with the changed parts is drafted and published."""
    offer = _pending_offer(session, offer_id)
    change = session.get(BaseChange, offer.base_change_id)
    local = session.get(LocalMatter, offer.local_matter_id, with_for_update=True)
    assert change is not None and local is not None
    current = session.scalar(
        select(MatterVersion).where(MatterVersion.local_matter_id == local.id, MatterVersion.status == "published")
    )
    if current is None:
        raise Conflict(code="matter_not_published", detail=f"事项 {local.code} 已废止或没有已发布版本，无法采纳变更")
    _refuse_superseded(session, change, local.id)
    process = session.get(ProcessDefinition, current.process_definition_id)
    assert process is not None
    parts = change.changes
    legal = parts.get("legal_limit_days", current.legal_limit_days)
    promised = current.promised_limit_days
    clamped_from = None
    if current.kind == "promised" and promised > legal:
        clamped_from, promised = promised, legal
    version = draft_version(
        session,
        local=local,
        form_schema=parts.get("form_template", current.form_schema),
        materials=parts.get("materials_template", current.materials),
        process=parts.get("process_template", process.body),
        promised_limit_days=promised,
        kind=current.kind,
        legal_limit_days=legal,
    )
    publish_version(session, version_id=version.id)
    _decide(offer, "accepted", actor_id, "")
    session.flush()
    return AcceptedOffer(offer=offer, version=version, clamped_from=clamped_from)


def _refuse_superseded(session: Session, change: BaseChange, local_matter_id: int) -> None:
    """An older change must not undo a newer one already accepted here for the same parts."""
    later = session.scalars(
        select(BaseChange.changes)
        .join(BaseChangeOffer, BaseChangeOffer.base_change_id == BaseChange.id)
        .where(
            BaseChange.base_matter_id == change.base_matter_id,
            BaseChange.number > change.number,
            BaseChangeOffer.local_matter_id == local_matter_id,
            BaseChangeOffer.state == "accepted",
        )
    )
    if any(set(parts) & set(change.changes) for parts in later):
        raise Conflict(code="offer_superseded", detail="已采纳过更新的同类变更，不能再采纳这项较早的变更，请拒绝它")


def decline_offer(session: Session, *, offer_id: int, actor_id: int, reason: str) -> BaseChangeOffer:
    """Decline a change for one implementation; the reason is required and kept."""
    if not reason.strip():
        raise InvalidInput(
            code="decline_reason_required",
            detail="拒绝采纳基本目录变更须说明理由",
            errors=[FieldProblem("reason", "请填写拒绝理由", "required")],
        )
    offer = _pending_offer(session, offer_id)
    _decide(offer, "declined", actor_id, reason.strip())
    session.flush()
    return offer


def pending_offers(session: Session, region_id: int | None = None) -> list[PendingOffer]:
    """Undecided offers, oldest first, optionally only those of one region's implementations."""
    query = (
        select(BaseChangeOffer, BaseChange, BaseMatter.code, LocalMatter)
        .join(BaseChange, BaseChange.id == BaseChangeOffer.base_change_id)
        .join(BaseMatter, BaseMatter.id == BaseChange.base_matter_id)
        .join(LocalMatter, LocalMatter.id == BaseChangeOffer.local_matter_id)
        .where(BaseChangeOffer.state == "pending")
        .order_by(BaseChangeOffer.id)
    )
    if region_id is not None:
        query = query.where(LocalMatter.region_id == region_id)
    return [_pending_row(offer, change, base_code, local) for offer, change, base_code, local in session.execute(query)]


def _pending_row(offer: BaseChangeOffer, change: BaseChange, base_code: str, local: LocalMatter) -> PendingOffer:
    return PendingOffer(
        offer_id=offer.id, change_id=change.id, change_number=change.number, summary=change.summary,
        parts=[p for p in PARTS if p in change.changes], base_matter_id=change.base_matter_id, base_code=base_code,
        local_matter_id=local.id, local_code=local.code, local_name=local.name, region_id=local.region_id,
        created_at=change.created_at,
    )  # fmt: skip


def _pending_offer(session: Session, offer_id: int) -> BaseChangeOffer:
    offer = session.get(BaseChangeOffer, offer_id, with_for_update=True)
    if offer is None:
        raise NotFound(code="offer_not_found", detail="基本目录变更推送不存在")
    if offer.state != "pending":
        done = "采纳" if offer.state == "accepted" else "拒绝"
        raise Conflict(code="offer_decided", detail=f"该变更推送已被{done}，不能重复处理")
    return offer


def _decide(offer: BaseChangeOffer, state: str, actor_id: int, reason: str) -> None:
    offer.state, offer.decided_at, offer.decided_by_id, offer.reason = state, utcnow(), actor_id, reason
