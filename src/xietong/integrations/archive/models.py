"""Archive packages of archived cases, their 四性检测 report and the archive system's receipt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from xietong.db.base import Base, BigId, utcnow


class ArchivePackage(Base):
    """One case's archive information package (ZIP): ``built`` and checked, then ``transferred`` with the
    archive system's ``receipt``. ``report`` is the 四性检测 report made when it was built."""

    __tablename__ = "archive_package"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), unique=True)
    archival_code: Mapped[str] = mapped_column(String(80), unique=True)
    state: Mapped[str] = mapped_column(String(12), default="built")  # built | transferred | failed
    package: Mapped[bytes] = mapped_column(LargeBinary)
    sm3: Mapped[str] = mapped_column(String(64))
    report: Mapped[dict[str, Any]]
    passed: Mapped[bool]
    built_at: Mapped[datetime] = mapped_column(default=utcnow)
    transferred_at: Mapped[datetime | None]
    receipt: Mapped[dict[str, Any] | None]


class ArchiveWaiting(Base):
    """An archived case whose result document the provincial e-seal service has not sealed yet. The follower
    moves on past it (one case must not hold up every later one) and packs it on a later tick once sealed."""

    __tablename__ = "archive_waiting"

    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)  # the case.archived event's change-log position
    since: Mapped[datetime] = mapped_column(default=utcnow)
