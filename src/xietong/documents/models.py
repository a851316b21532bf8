"""Document templates (a city default per kind, or one matter's own) and the documents issued for cases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xietong.db.base import Base, BigId, utcnow


class DocumentTemplate(Base):
    """The text of one kind of document: ``local_matter_id`` None is the city default for that kind."""

    __tablename__ = "document_template"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    local_matter_id: Mapped[int | None] = mapped_column(ForeignKey("local_matter.id"))
    body: Mapped[str] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("kind", "local_matter_id"),)


class Document(Base):
    """A document issued for a case by the event it answers (``event_seq``), numbered and frozen as text."""

    __tablename__ = "document"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    event_seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("case_id", "event_seq", "kind"),
        Index("ix_document_case", "case_id", "id"),
    )
