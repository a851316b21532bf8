"""Tables of the shared materials catalogue: a unit's standing document of one kind and its versions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xietong.db.base import Base, BigId, utcnow


class SharedMaterial(Base):
    """One standing document of a unit (统一社会信用代码证, 授权委托书…): one row per unit and kind.

    ``current_number`` is the newest version's number; older versions stay, readable by the cases that linked them.
    """

    __tablename__ = "shared_material"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    kind: Mapped[str] = mapped_column(String(40))
    current_number: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("unit_id", "kind"),)


class SharedMaterialVersion(Base):
    """One uploaded version of a standing document: its file (a ``blob``, shared with the cases that link it),
    its validity (dates inclusive; ``valid_until`` None: no end) and who uploaded it. Never changed once written."""

    __tablename__ = "shared_material_version"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shared_material_id: Mapped[int] = mapped_column(ForeignKey("shared_material.id"))
    number: Mapped[int]
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blob.sha256"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(200), default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    uploaded_by_client_id: Mapped[int | None] = mapped_column(ForeignKey("api_client.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("shared_material_id", "number"),)
