"""Tables of oversight: urges, supervision and rectification orders, ratings, saved opinion phrases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xietong.db.base import Base, BigId, utcnow


class Urge(Base):
    """催办: someone reminded the current handlers of a case; counted per case and, through ``urge_task``, per task."""

    __tablename__ = "urge"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")

    # The repeat check reads (case, person, latest time); counts per case read the same index.
    __table_args__ = (Index("ix_urge_case_by_at", "case_id", "by_id", "at"),)


class UrgeTask(Base):
    """One task that was open when an urge was made (the urge reached its holders)."""

    __tablename__ = "urge_task"

    urge_id: Mapped[int] = mapped_column(ForeignKey("urge.id"), primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"), primary_key=True, index=True)


class OversightOrder(Base):
    """督办 (kind ``supervision``) or 整改 (kind ``rectification``): addressed to a unit, answered, then closed.

    Both have the same life: open → answered → closed, or sent back to open for a better answer;
    ``overdue`` is set when the deadline passes while no answer is pending.
    """

    __tablename__ = "oversight_order"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # supervision | rectification
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    content: Mapped[str] = mapped_column(Text)
    deadline_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(12), default="open")  # open | answered | closed
    overdue: Mapped[bool] = mapped_column(default=False)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    answered_at: Mapped[datetime | None]
    sent_back: Mapped[int] = mapped_column(default=0)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Rating(Base):
    """评价: the applicant's one rating of a concluded case."""

    __tablename__ = "rating"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), unique=True)
    by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    level: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)
    rectification_id: Mapped[int | None] = mapped_column(ForeignKey("oversight_order.id"))


class SavedOpinion(Base):
    """常用意见: one of a person's reusable opinion phrases, in the order they keep them."""

    __tablename__ = "saved_opinion"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    text: Mapped[str] = mapped_column(String(500))
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
