"""申请: a unit files a case of a published matter version, with its form and materials."""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Text, bindparam, cast, insert, select, update
from sqlalchemy.orm import Session

from xietong.cases.enums import CaseStatus, Channel
from xietong.cases.events import Actor, event_row
from xietong.cases.filetypes import format_of
from xietong.cases.models import Attachment, Case
from xietong.cases.numbering import next_case_number
from xietong.cases.service.writes import write_closing
from xietong.cases.uploaders import uploaded_by, uploader
from xietong.catalog import situations
from xietong.catalog.forms import FormSchema, Material, parse_form_schema, parse_materials, validate_form
from xietong.catalog.models import LocalMatter, MatterVersion
from xietong.config import Settings
from xietong.db import fastpath
from xietong.db.base import utcnow
from xietong.directory.models import Region, Unit
from xietong.errors import Conflict, FieldProblem, Forbidden, InvalidInput, NotFound
from xietong.materials import linking
from xietong.security.principal import Principal

CASE = Case.__table__
ATTACHMENT = Attachment.__table__
VERSION = MatterVersion.__table__
LOCAL = LocalMatter.__table__
REGION = Region.__table__
UNIT = Unit.__table__
_INSERT_CASE = insert(CASE).returning(CASE.c.id)
# The published version with what the case row denormalises, and the applicant unit's name: one
# round trip. Schemas come as JSON text, the key of the parsed-schema caches (versions are immutable).
_PUBLISHED_VERSION = (
    select(
        VERSION.c.id,
        VERSION.c.kind,
        VERSION.c.promised_limit_days,
        VERSION.c.legal_limit_days,
        cast(VERSION.c.form_schema, Text).label("form_schema"),
        cast(VERSION.c.materials, Text).label("materials"),
        cast(VERSION.c.situations, Text).label("situations"),
        LOCAL.c.base_matter_id,
        LOCAL.c.region_id,
        LOCAL.c.handling_unit_id,
        LOCAL.c.name,
        REGION.c.code.label("region_code"),
        select(UNIT.c.name).where(UNIT.c.id == bindparam("b_applicant_unit_id")).scalar_subquery().label("applicant"),
        select(UNIT.c.active).where(UNIT.c.id == bindparam("b_applicant_unit_id")).scalar_subquery()
        .label("applicant_active"),
        select(UNIT.c.active).where(UNIT.c.id == LOCAL.c.handling_unit_id).scalar_subquery().label("handling_active"),
    )
    .join(LOCAL, LOCAL.c.id == VERSION.c.local_matter_id)
    .join(REGION, REGION.c.id == LOCAL.c.region_id)
    .where(VERSION.c.local_matter_id == bindparam("b_local_matter_id"), VERSION.c.status == "published")
)
_ATTACHMENTS = select(
    ATTACHMENT.c.id, ATTACHMENT.c.case_id, ATTACHMENT.c.uploaded_by_id, ATTACHMENT.c.uploaded_by_client_id,
    ATTACHMENT.c.filename,
    ATTACHMENT.c.content_type, ATTACHMENT.c.size,
).where(ATTACHMENT.c.id.in_(bindparam("b_ids", expanding=True)))
# Guarded like a task completion: of two submissions racing for one upload, exactly one takes it.
_CLAIM_ATTACHMENTS = (
    update(ATTACHMENT)
    .where(
        ATTACHMENT.c.id.in_(bindparam("b_ids", expanding=True)),
        ATTACHMENT.c.case_id.is_(None),
        ATTACHMENT.c.uploaded_by_id.is_not_distinct_from(bindparam("b_person")),
        ATTACHMENT.c.uploaded_by_client_id.is_not_distinct_from(bindparam("b_client")),
    )
    .values(case_id=bindparam("b_case_id"))
)


@lru_cache(maxsize=1024)
def _schema(text: str) -> FormSchema:
    return parse_form_schema(json.loads(text))


@lru_cache(maxsize=1024)
def _materials(text: str) -> tuple[Material, ...]:
    return tuple(parse_materials(text))


def submit_case(
    session: Session,
    *,
    principal: Principal,
    local_matter_id: int,
    applicant_unit_id: int,
    form: dict[str, Any],
    materials: dict[str, list[int]] | None = None,
    channel: str = "web",
    now: datetime | None = None,
    tz: str = "Asia/Shanghai",
    situation: dict[str, str] | None = None,
    shared_materials: dict[str, int] | None = None,
    reused_results: dict[str, int] | None = None,
    settings: Settings | None = None,
) -> tuple[int, str]:
    """File a case; returns (case id, case number). Every form and material problem is reported at once.

    ``situation`` answers the version's 办理情形 questions: the form and materials are checked as they apply
    to those answers, and the answers (with the steps they skip) are kept in the form's ``_situation``.
    ``shared_materials`` (material code → shared version id) and ``reused_results`` (code → result document id)
    satisfy materials from the applicant unit's catalogue instead of uploads (``xietong.materials.linking``)."""
    now = now or utcnow()
    if applicant_unit_id not in principal.unit_ids and principal.kind != "system":
        raise Forbidden(code="not_member", detail="只能以本人所在单位的名义申请")
    if channel not in {c.value for c in Channel}:
        raise InvalidInput(code="bad_channel", detail=f"不支持的申请渠道：{channel}")
    conn = session.connection()
    version = fastpath.execute(
        conn, _PUBLISHED_VERSION, {"b_local_matter_id": local_matter_id, "b_applicant_unit_id": applicant_unit_id}
    ).first()
    if version is None:
        raise NotFound(code="matter_not_published", detail="该事项不存在或尚未发布，暂不能申请")
    if not version["handling_active"] or version["applicant_active"] is False:  # retired, e.g. in a 机构改革
        raise Conflict(code="unit_inactive", detail="申请单位或承办单位已停用，不能提交新的申请")
    schema_text, materials_text, kept, problems = situation_applied(
        version["situations"], version["form_schema"], version["materials"], situation)
    if problems:  # what the form must hold depends on the answers
        raise InvalidInput(code="situation_invalid", detail="请先回答办理情形的问题", errors=problems)
    cleaned, problems = _check_form(schema_text, without_left_out(form, version["form_schema"], schema_text))
    links: list[linking.Link] = []
    if shared_materials or reused_results:
        links, link_problems = linking.check_links(
            session, materials=_materials(materials_text), applicant_unit_id=applicant_unit_id,
            shared=shared_materials or {}, results=reused_results or {}, today=now.astimezone(ZoneInfo(tz)).date(),
        )
        problems += link_problems
    linked = {link.code for link in links} | set(shared_materials or {}) | set(reused_results or {})
    problems += _check_materials(conn, materials_text, materials or {}, principal, linked)
    if problems:
        raise InvalidInput(code="application_invalid", detail=f"申请有 {len(problems)} 处需要修改", errors=problems)
    if kept is not None:
        cleaned[situations.FORM_KEY] = kept
    applicant_name = version["applicant"]
    if applicant_name is None:
        raise NotFound(code="unit_not_found", detail=f"申请单位不存在（编号 {applicant_unit_id}）")
    number = next_case_number(conn, region_code=version["region_code"], at=now, tz=tz)
    title = str(cleaned.get("title") or f"{applicant_name}申请{version['name']}")[:200]
    parties = sorted({applicant_unit_id, version["handling_unit_id"]})
    values = {
        "number": number,
        "title": title,
        "matter_version_id": version["id"],
        "local_matter_id": local_matter_id,
        "base_matter_id": version["base_matter_id"],
        "region_id": version["region_id"],
        "handling_unit_id": version["handling_unit_id"],
        "applicant_unit_id": applicant_unit_id,
        "applicant_person_id": principal.id if principal.kind == "person" else None,
        "channel": channel,
        "status": CaseStatus.SUBMITTED.value,
        "process_state": "not_started",
        "form": cleaned,
        "step_results": {},
        "party_units": "," + ",".join(map(str, parties)) + ",",
        "search_text": " ".join([number, title, applicant_name, version["name"]]),
        "kind": version["kind"],
        "promised_limit_days": version["promised_limit_days"],
        "legal_limit_days": version["legal_limit_days"],
        "submitted_at": now,
        "paused_days": 0,
        "trips": 0,
        "scope_seq": 0,
        "event_seq": 0,
        "last_event_hash": "",
        "created_at": now,
        "updated_at": now,
    }
    case_id = fastpath.execute(conn, _INSERT_CASE, values).scalar_one()
    claim_attachments(conn, materials or {}, case_id=case_id, principal=principal)
    recorded = linking.write_links(session, links, case_id=case_id, principal=principal,
                                   settings=settings or Settings(), now=now) if links else {}
    delta = {k: v for k, v in values.items() if k not in ("search_text", "event_seq", "last_event_hash")}
    actor = Actor("person" if principal.kind == "person" else principal.kind, principal.id)
    event, seq, digest = event_row(
        case_id=case_id,
        prev_seq=0,
        prev_hash="",
        type="case.submitted",
        actor=actor,
        at=now,
        delta={"case": delta, "materials": materials or {}, **({"shared_materials": recorded} if recorded else {})},
    )
    party_rows = [{"case_id": case_id, "unit_id": u} for u in parties]
    head = {"event_seq": seq, "last_event_hash": digest}
    write_closing(conn, case_id, head, [("party", party_rows), ("event", [event])])
    return case_id, number


@lru_cache(maxsize=256)
def _situations(text: str) -> situations.Situations | None:
    raw = json.loads(text)
    return None if raw is None else situations.parse_situations(raw)


def situation_applied(
    situations_text: str | None, schema_text: str, materials_text: str, answers: dict[str, str] | None
) -> tuple[str, str, dict[str, Any] | None, list[FieldProblem]]:
    """The form schema and materials (as JSON text) that apply to these answers, what the case keeps of the
    answers, and the answers' problems; a version without 办理情形 is returned as it is."""
    parsed = _situations(situations_text) if situations_text else None
    if parsed is None:
        return schema_text, materials_text, None, []
    problems = situations.answer_problems(parsed, answers or {})
    if problems:
        return schema_text, materials_text, None, problems
    assert answers is not None
    applied = situations.apply(parsed, answers, form_schema=json.loads(schema_text),
                               materials=json.loads(materials_text))
    kept = {"answers": applied.answers, "skipped": applied.skipped_steps}
    return (json.dumps(applied.form_schema, ensure_ascii=False), json.dumps(applied.materials, ensure_ascii=False),
            kept, [])


def without_left_out(form: dict[str, Any], full_text: str, schema_text: str) -> dict[str, Any]:
    """The form without values of the fields the answers leave out (like a field hidden by ``visible_when``, a
    value the wizard still posted is dropped, not refused); unknown keys are still refused."""
    if full_text == schema_text:
        return form
    left_out = {f.key for f in _schema(full_text).fields} - {f.key for f in _schema(schema_text).fields}
    return {k: v for k, v in form.items() if k not in left_out}


def claim_attachments(
    conn: Connection, materials: dict[str, list[int]], *, case_id: int, principal: Principal
) -> None:
    """Give the uploads named in ``materials`` to the case; 409 if another application took one first."""
    ids = sorted({a for ids in materials.values() for a in ids})
    if not ids:
        return
    who = uploader(principal)
    claimed = conn.execute(_CLAIM_ATTACHMENTS, {"b_ids": ids, "b_case_id": case_id,
                                                "b_person": who["uploaded_by_id"],
                                                "b_client": who["uploaded_by_client_id"]})
    if claimed.rowcount != len(ids):
        raise Conflict(code="attachment_taken", detail="有附件刚被另一份申请使用，请重新上传后再提交")


def _check_form(schema_text: str, form: dict[str, Any]) -> tuple[dict[str, Any], list[FieldProblem]]:
    cleaned, errors = validate_form(_schema(schema_text), form)
    return cleaned, [FieldProblem(field=e.key, message=e.message, code=e.code) for e in errors]


def _check_materials(
    conn: Connection, materials_text: str, given: dict[str, list[int]], principal: Principal,
    linked: frozenset[str] | set[str] = frozenset(),
) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    wanted = {m.code: m for m in _materials(materials_text)}
    for code in given:
        if code not in wanted:
            problems.append(FieldProblem(f"materials.{code}", f"该事项不需要材料 {code}", "unknown_material"))
    ids = [a for code, ids in given.items() if code in wanted for a in ids]
    rows = {r.id: r for r in conn.execute(_ATTACHMENTS, {"b_ids": ids})} if ids else {}
    for code, material in wanted.items():
        attached = given.get(code, [])
        if material.required and not attached and code not in linked:
            problems.append(FieldProblem(f"materials.{code}", f"请上传“{material.name}”", "material_required"))
        for attachment_id in attached:
            row = rows.get(attachment_id)
            if row is None or row.case_id is not None or not uploaded_by(row, principal):
                problems.append(
                    FieldProblem(f"materials.{code}", f"附件 {attachment_id} 不存在或不可用", "bad_attachment")
                )
            elif not material.allows_format(format_of(row.content_type) or ""):  # the type found in the content
                problems.append(
                    FieldProblem(
                        f"materials.{code}", f"“{material.name}”不接受该文件格式：{row.filename}", "bad_format"
                    )
                )
            elif row.size > material.max_size_bytes:
                problems.append(
                    FieldProblem(
                        f"materials.{code}",
                        f"“{material.name}”不能超过 {material.max_size_mb} MB：{row.filename}",
                        "material_too_large",
                    )
                )
    return problems
