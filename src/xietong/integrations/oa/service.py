"""The OA exchange's operations: receive a document, list a unit's inbox, start a case from a document or
decline it, and (in the worker) send each started case's result back.

A document belongs to the unit it is addressed to in xietong (``unit``: its 统一社会信用代码 or unit code) — the
unit that applies: a clerk of that unit chooses the matter and files the case on the ``oa`` channel, with the
document's attachments uploaded as the case's materials through the ordinary content checks.
"""

from __future__ import annotations

import base64
import binascii
import io
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from xietong.cases.attachments import store_upload
from xietong.cases.models import Case
from xietong.cases.service import submit_case
from xietong.config import Settings
from xietong.dataservice.models import FeedCursor
from xietong.directory.models import Unit
from xietong.documents.issue import CURSOR as DOCUMENTS_CURSOR
from xietong.documents.models import Document
from xietong.errors import Conflict, Forbidden, InvalidInput, NotFound
from xietong.integrations.feed import Committed, follow
from xietong.integrations.oa.models import OaDocument
from xietong.integrations.outbound import enqueue
from xietong.security.principal import Principal
from xietong.validation import problems_from

CHANNEL = "oa"
CURSOR = "oa"
RESULT_KINDS = ("conclusion_notice", "denial_decision")


class AttachmentIn(BaseModel):
    filename: str = Field(min_length=1, max_length=255)
    content: str = Field(min_length=1, description="base64")


class DocumentIn(BaseModel):
    oa_doc_id: str = Field(min_length=1, max_length=64)
    doc_number: str = Field(min_length=1, max_length=80)
    title: str = Field(min_length=1, max_length=200)
    sender: str = Field(min_length=1, max_length=200)
    unit: str = Field(min_length=1, max_length=64, description="收文单位的统一社会信用代码或单位编码")
    body: str = Field(default="", max_length=20_000)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=50)


LABELS = {"oa_doc_id": "OA 文档标识", "doc_number": "文号", "title": "标题", "sender": "来文单位", "unit": "收文单位",
          "body": "正文", "attachments": "附件", "filename": "附件名", "content": "附件内容"}


def receive_document(session: Session, data: Any, *, settings: Settings, now: datetime) -> tuple[OaDocument, bool]:
    """Keep an incoming document; ``(row, created)``. A document the OA sends again is the same row."""
    try:
        incoming = DocumentIn.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(code="bad_oa_document", detail="OA 来文格式不正确",
                           errors=problems_from(exc.errors(), LABELS)) from exc
    existing = session.scalar(select(OaDocument).where(OaDocument.oa_doc_id == incoming.oa_doc_id))
    if existing is not None:
        return existing, False
    unit = session.scalar(select(Unit).where(or_(Unit.uscc == incoming.unit, Unit.code == incoming.unit),
                                             Unit.active))
    if unit is None:
        raise InvalidInput(code="oa_unit_unknown", detail=f"收文单位不存在或已撤销：{incoming.unit}")
    attachments, total = [], 0
    for i, item in enumerate(incoming.attachments):
        try:
            size = len(base64.b64decode(item.content, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput(code="bad_oa_attachment", detail=f"第 {i + 1} 个附件的内容不是有效的 base64") from exc
        total += size
        attachments.append({"filename": item.filename, "content": item.content, "size": size})
    if total > settings.oa_max_attachments_mb * 1024 * 1024:
        raise InvalidInput(code="oa_attachments_too_large",
                           detail=f"来文附件合计超过 {settings.oa_max_attachments_mb} MB")
    document = OaDocument(oa_doc_id=incoming.oa_doc_id, doc_number=incoming.doc_number, title=incoming.title,
                          sender=incoming.sender, unit_id=unit.id, body=incoming.body, attachments=attachments,
                          received_at=now, state="new")
    session.add(document)
    session.flush()
    return document, True


def inbox(session: Session, *, principal: Principal, state: str | None = "new", limit: int = 50,
          before_id: int | None = None) -> list[OaDocument]:
    """The documents of the person's units, newest first."""
    query = select(OaDocument).where(OaDocument.unit_id.in_(principal.unit_ids))
    if state is not None:
        query = query.where(OaDocument.state == state)
    if before_id is not None:
        query = query.where(OaDocument.id < before_id)
    return list(session.scalars(query.order_by(OaDocument.id.desc()).limit(limit)))


def document_for(session: Session, *, principal: Principal, document_id: int, lock: bool = False) -> OaDocument:
    """One document of the person's units (404 for any other, like a missing one)."""
    query = select(OaDocument).where(OaDocument.id == document_id)
    document = session.scalar(query.with_for_update() if lock else query)
    if document is None or document.unit_id not in principal.unit_ids:
        raise NotFound(code="oa_document_not_found", detail="没有这份 OA 来文")
    return document


def _open(session: Session, principal: Principal, document_id: int) -> OaDocument:
    if principal.kind != "person":
        raise Forbidden(code="oa_person_only", detail="只有本单位人员可以处理 OA 来文")
    document = document_for(session, principal=principal, document_id=document_id, lock=True)
    if document.state != "new":
        raise Conflict(code="oa_document_handled", detail="这份来文已经处理过了")
    return document


def start_case(
    session: Session, *, principal: Principal, document_id: int, local_matter_id: int, form: dict[str, Any],
    materials: dict[str, list[int]], settings: Settings, now: datetime,
) -> tuple[int, str]:
    """File a case of ``local_matter_id`` from the document; ``materials`` maps material codes to attachment
    positions in the document. Returns (case id, case number)."""
    document = _open(session, principal, document_id)
    ids: dict[str, list[int]] = {}
    for code, positions in materials.items():
        for position in positions:
            if not 0 <= position < len(document.attachments):
                raise InvalidInput(code="bad_oa_attachment_index", detail=f"来文没有第 {position + 1} 个附件")
            item = document.attachments[position]
            stored = store_upload(session, principal=principal, filename=item["filename"],
                                  stream=io.BytesIO(base64.b64decode(item["content"])), declared_type=None,
                                  material_code=code, settings=settings)
            ids.setdefault(code, []).append(stored.id)
    case_id, number = submit_case(session, principal=principal, local_matter_id=local_matter_id,
                                  applicant_unit_id=document.unit_id, form={"title": document.title, **form},
                                  materials=ids, channel="oa", now=now)
    document.state, document.case_id = "started", case_id
    document.handled_by_id, document.handled_at = principal.id, now
    # The bytes now live as the case's attachments; the document keeps what they were.
    document.attachments = [{"filename": a["filename"], "size": a["size"]} for a in document.attachments]
    return case_id, number


def decline(session: Session, *, principal: Principal, document_id: int, reason: str, now: datetime) -> OaDocument:
    """Refuse to take the document up (退文); the OA is told why."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput(code="reason_required", detail="请填写退文理由")
    document = _open(session, principal, document_id)
    document.state, document.note = "declined", reason[:2000]
    document.handled_by_id, document.handled_at = principal.id, now
    enqueue(session, CHANNEL, "declined",
            {"reply_to": document.oa_doc_id, "title": f"关于《{document.title}》的退文说明", "reason": document.note,
             "at": now.isoformat()},
            key=document.id, message_id=f"oa-{document.id}-declined", now=now)
    return document


def report_results(session: Session) -> int:
    """The worker duty: send each OA-started case's result back, once its result document has been issued."""
    # The documents' issue goes first: never follow past the events it has turned into documents.
    issued = session.scalar(select(FeedCursor.position).where(FeedCursor.name == DOCUMENTS_CURSOR)) or 0
    return follow(session, CURSOR, _result, types=frozenset({"case.concluded"}), until=issued)


def _result(session: Session, event: Committed) -> None:
    document = session.scalar(select(OaDocument).where(OaDocument.case_id == event.case_id))
    if document is None:
        return
    case = session.get(Case, event.case_id)
    assert case is not None
    issued = session.scalar(select(Document).where(Document.case_id == case.id, Document.event_seq == event.seq,
                                                   Document.kind.in_(RESULT_KINDS)))
    enqueue(session, CHANNEL, "result", {
        "reply_to": document.oa_doc_id, "case_number": case.number, "result": case.result,
        "result_note": case.result_note, "concluded_at": event.at.isoformat(),
        "document": None if issued is None else {"number": issued.number, "title": issued.title,
                                                 "body": issued.body},
    }, key=document.id, message_id=f"oa-{document.id}-result", now=event.at)
