"""Tables of the case library: cases, parties, grants, files, the per-case event chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from xietong.db.base import Base, BigId, JSONType, utcnow


class Case(Base):
    """办件: one application of a matter version, from submission to archive.

    Denormalised on purpose (region, handling unit, base matter, search text) so lists, filters
    and statistics never join through the catalog. ``event_seq``/``last_event_hash`` carry the
    head of this case's event chain and ``scope_seq`` the last activation generation.
    """

    __tablename__ = "case"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    matter_version_id: Mapped[int] = mapped_column(ForeignKey("matter_version.id"))
    local_matter_id: Mapped[int] = mapped_column(ForeignKey("local_matter.id"), index=True)
    base_matter_id: Mapped[int] = mapped_column(ForeignKey("base_matter.id"))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"))
    handling_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    applicant_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    applicant_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))  # None: filed by a client
    channel: Mapped[str] = mapped_column(String(12))  # web | mobile | api | counter | oa
    status: Mapped[str] = mapped_column(String(20))
    process_state: Mapped[str] = mapped_column(String(12), default="not_started")
    form: Mapped[dict[str, Any]] = mapped_column(default=dict)
    step_results: Mapped[dict[str, Any]] = mapped_column(default=dict)
    party_units: Mapped[str] = mapped_column(Text, default=",")
    search_text: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(12))
    promised_limit_days: Mapped[int]
    legal_limit_days: Mapped[int]
    submitted_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]
    paused_days: Mapped[int] = mapped_column(default=0)
    paused_from: Mapped[str | None] = mapped_column(String(20))  # the status a pause returns to
    working_days_used: Mapped[int | None]  # at 办结: working days after acceptance, pauses excluded
    concluded_at: Mapped[datetime | None]
    archived_at: Mapped[datetime | None]
    result: Mapped[str | None] = mapped_column(String(12))  # granted | denied
    result_note: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    trips: Mapped[int] = mapped_column(default=0)
    extended_days: Mapped[int] = mapped_column(default=0, server_default="0")  # the one 延期 (§42), 0 = none
    card: Mapped[str] = mapped_column(String(8), default="none", server_default="none")  # none | yellow | red
    scope_seq: Mapped[int] = mapped_column(default=0)
    event_seq: Mapped[int] = mapped_column(default=0)
    last_event_hash: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_case_handling_status", "handling_unit_id", "status"),
        Index("ix_case_region_submitted", "region_id", "submitted_at"),
        Index("ix_case_status_due", "status", "due_at"),
        Index("ix_case_submitted", "submitted_at"),
    )


class SupplementRequest(Base):
    """补正 or 退回申请人: what the applicant is asked to change, and what their resubmission changed.

    ``kind`` supplement keeps the open tasks waiting. A return says in ``resume_mode`` where the resubmitted
    case goes: ``direct`` — the other open tasks waited, and the returning task (``resume_task_id``) opens
    again for the same person in the same scope — or ``chain``: every task was cancelled and the process
    runs again from its start.
    """

    __tablename__ = "supplement_request"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # supplement | return
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)  # [{material, field, note}]
    reason: Mapped[str] = mapped_column(Text, default="")
    resume_mode: Mapped[str | None] = mapped_column(String(12))  # direct | chain (returns only)
    resume_node: Mapped[str | None] = mapped_column(String(64))
    resume_task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"))  # the returning task, reopened as-is
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    requested_at: Mapped[datetime]
    resubmitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    resubmitted_at: Mapped[datetime | None]
    changes: Mapped[dict[str, Any] | None]


class SpecialProcedure(Base):
    """特别程序 (听证, 专家评审, 检验检测, 现场勘验…): the case's clock stops while it runs (行政许可法 §45)."""

    __tablename__ = "special_procedure"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # a key of cases.service.special.SPECIAL_KINDS
    reason: Mapped[str] = mapped_column(Text)
    basis: Mapped[str] = mapped_column(Text)  # the legal basis the unit cites
    planned_days: Mapped[int | None]  # the time the unit tells the applicant it expects to need
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    started_at: Mapped[datetime]
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    ended_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(Text)
    working_days: Mapped[int | None]  # the working days it stopped the clock, once ended


class CaseParty(Base):
    """A unit that takes part in a case (applicant, handling unit, a unit that held a step)."""

    __tablename__ = "case_party"

    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True, index=True)


class CaseGrant(Base):
    """A person's right to read a case without taking part: 抄送 (copy) or 督办 (supervise)."""

    __tablename__ = "case_grant"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]


class Blob(Base):
    """File content addressed by SHA-256; shared between attachments, never served by hash."""

    __tablename__ = "blob"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int]
    content_type: Mapped[str] = mapped_column(String(100))
    storage: Mapped[str] = mapped_column(String(12), default="file")  # file | db
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Attachment(Base):
    """A file uploaded by someone for a (future) case; read only through the case's permission check."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blob.sha256"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    material_code: Mapped[str | None] = mapped_column(String(20))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    # An application client's upload (``cases:submit``): exactly one of the two names the uploader.
    uploaded_by_client_id: Mapped[int | None] = mapped_column(ForeignKey("api_client.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Linked at submission instead of uploaded (减材料): the shared version, or the earlier case's result document.
    shared_version_id: Mapped[int | None] = mapped_column(ForeignKey("shared_material_version.id"), index=True)
    source_document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"))


NOT_SEQUENCED = text("position IS NULL")
SEQUENCED = text("position IS NOT NULL")


class Event(Base):
    """Append-only, hash-chained record of one operation on one case, as a replayable delta.

    ``hash`` = SM3(prev_hash ‖ canonical JSON of the record). ``position`` is the global change-log
    position, given by the sequencer after commit — never at insert time, which is not commit order.
    """

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    seq: Mapped[int]
    type: Mapped[str] = mapped_column(String(40))
    actor_kind: Mapped[str] = mapped_column(String(12))
    actor_id: Mapped[int | None]
    acting_for_id: Mapped[int | None]
    at: Mapped[datetime]
    delta: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    position: Mapped[int | None]
    # The global chain, in change-log order: SM3(previous chain_hash ‖ position ‖ hash), set by the sequencer.
    chain_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("case_id", "seq"),
        Index("ix_event_unsequenced", "id", postgresql_where=NOT_SEQUENCED, sqlite_where=NOT_SEQUENCED),
        # Partial: an event is inserted without a position, and a NULL key in a full unique index is only
        # an extra page to write on every insert of the hot path.
        Index("ux_event_position", "position", unique=True, postgresql_where=SEQUENCED, sqlite_where=SEQUENCED),
    )


class Notification(Base):
    """An in-app notification (the list is always on; outside channels come through the outbox)."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]


class ApplicationDraft(Base):
    """申请草稿: what a person typed into the application wizard and the files they uploaded, kept on the server
    until they submit (one per person and matter; ``matter_version_id`` is the version it was typed against)."""

    __tablename__ = "application_draft"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    local_matter_id: Mapped[int] = mapped_column(ForeignKey("local_matter.id"))
    matter_version_id: Mapped[int] = mapped_column(ForeignKey("matter_version.id"))
    applicant_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    values: Mapped[dict[str, Any]]  # the wizard's posted fields ("f.<key>" → text, list or table rows)
    materials: Mapped[dict[str, Any]]  # material code → attachment ids (the person's own, not yet used)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("person_id", "local_matter_id"),)
