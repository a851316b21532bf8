"""OA documents received by xietong, held until a clerk of the receiving unit starts a case or declines them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xietong.db.base import Base, BigId, utcnow


class OaDocument(Base):
    """One incoming OA document (收文). ``attachments`` keep their bytes (base64) until the case takes them up:
    only then does a person — the clerk — upload them, through the same content checks as any upload."""

    __tablename__ = "oa_document"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    oa_doc_id: Mapped[str] = mapped_column(String(64), unique=True)  # the OA's own id: a resend is the same row
    doc_number: Mapped[str] = mapped_column(String(80))  # 文号
    title: Mapped[str] = mapped_column(String(200))
    sender: Mapped[str] = mapped_column(String(200))  # 来文单位
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    body: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list[Any]] = mapped_column(default=list)  # [{filename, content (base64), size}]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(12), default="new")  # new | started | declined
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), unique=True)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    handled_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)  # why it was declined

    __table_args__ = (Index("ix_oa_document_unit", "unit_id", "state", "id"),)
