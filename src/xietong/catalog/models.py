"""Tables of the matter library: base matters, local matters, versions and process definitions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xietong.db.base import Base, BigId, utcnow


class BaseMatter(Base):
    """基本目录: a matter defined once for the whole city."""

    __tablename__ = "base_matter"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(12))  # immediate | promised
    legal_limit_days: Mapped[int]
    function: Mapped[str | None] = mapped_column(String(50))
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Templates every implementation starts from; a change to them is offered to each (``base_change``).
    form_template: Mapped[dict[str, Any] | None]
    materials_template: Mapped[list[Any] | None]
    process_template: Mapped[dict[str, Any] | None]
    # Granularity (docs/granularity.md): a split matter is 主项 (``main``) with 子项 (``sub``) children, a split
    # 子项 has 业务办理项 (``task``) children; None is an unsplit matter. Only matters without children are applied for.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("base_matter.id"), index=True)
    level: Mapped[str | None] = mapped_column(String(8))


class LocalMatter(Base):
    """实施清单: one region's (and handling unit's) implementation of a base matter; versions hang here.

    Its current version is the one version whose status is ``published`` (at most one at a time).
    """

    __tablename__ = "local_matter"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    base_matter_id: Mapped[int] = mapped_column(ForeignKey("base_matter.id"), index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    handling_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="draft")  # draft | published | retired
    # Statistics group by lineage: every matter joined to this one by splits and merges shares the key
    # (catalog/granularity.py keeps it; an untouched matter's key is its own code).
    lineage_key: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("base_matter_id", "region_id", "handling_unit_id"),)


class ProcessDefinition(Base):
    """A process definition body, stored once per distinct content (``digest`` = SHA-256 of it)."""

    __tablename__ = "process_definition"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    body: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MatterVersion(Base):
    """One version of a local matter; immutable once published, kept by every case submitted on it."""

    __tablename__ = "matter_version"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    local_matter_id: Mapped[int] = mapped_column(ForeignKey("local_matter.id"))
    number: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default="draft")  # draft | published | retired
    kind: Mapped[str] = mapped_column(String(12))
    legal_limit_days: Mapped[int]
    promised_limit_days: Mapped[int]
    yellow_days: Mapped[float | None]
    yellow_ratio: Mapped[float | None]
    form_schema: Mapped[dict[str, Any]]
    materials: Mapped[list[Any]]
    process_definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    # 办理情形: questions whose answers select materials, fields and steps (catalog/situations.py); None = none.
    situations: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("local_matter_id", "number"),)


class BaseChange(Base):
    """One numbered change to a base matter; ``changes`` holds the new value of each part that changed."""

    __tablename__ = "base_change"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    base_matter_id: Mapped[int] = mapped_column(ForeignKey("base_matter.id"))
    number: Mapped[int]
    summary: Mapped[str] = mapped_column(Text)
    changes: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))

    __table_args__ = (UniqueConstraint("base_matter_id", "number"),)


class BaseChangeOffer(Base):
    """A base change offered to one implementation; an administrator accepts or declines it (with a reason)."""

    __tablename__ = "base_change_offer"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    base_change_id: Mapped[int] = mapped_column(ForeignKey("base_change.id"))
    local_matter_id: Mapped[int] = mapped_column(ForeignKey("local_matter.id"), index=True)
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending | accepted | declined
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    reason: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (UniqueConstraint("base_change_id", "local_matter_id"),)


class DraftProcess(Base):
    """A draft version's process as the designer last saved it, while it does not compile.

    The version keeps pointing at its last valid process definition (definitions are always valid, cases and
    diffs compile them); this row holds the BPMN the person drew and its problems, and while it exists the
    draft cannot be published. Saving a valid process deletes it.
    """

    __tablename__ = "draft_process"

    version_id: Mapped[int] = mapped_column(BigId, ForeignKey("matter_version.id"), primary_key=True)
    bpmn: Mapped[str] = mapped_column(Text)
    problems: Mapped[list[Any]]
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)
    saved_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))


class MatterLineage(Base):
    """One edge of a split or merge (一件事): which local matter became which, when, why and by whom."""

    __tablename__ = "matter_lineage"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operation: Mapped[str] = mapped_column(String(32))  # ties the edges of one split or merge together
    kind: Mapped[str] = mapped_column(String(8))  # split | merge
    predecessor_id: Mapped[int] = mapped_column(ForeignKey("local_matter.id"))
    predecessor_code: Mapped[str] = mapped_column(String(64))
    successor_id: Mapped[int] = mapped_column(ForeignKey("local_matter.id"), index=True)
    successor_code: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))

    __table_args__ = (UniqueConstraint("predecessor_id", "successor_id"),)
