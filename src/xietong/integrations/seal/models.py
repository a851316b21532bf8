"""Each unit's seal (its SM2 key pair, the private key encrypted) and the sealing of cases' result documents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xietong.db.base import Base, BigId, utcnow


class UnitSeal(Base):
    """A unit's e-seal: ``es_id`` its seal code, the SM2 public key (``04‖x‖y`` hex), the private key as
    ``keystore`` stores it (SM4-encrypted), and the seal image (PNG)."""

    __tablename__ = "unit_seal"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), unique=True)
    es_id: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    public_key: Mapped[str] = mapped_column(String(130))
    private_key: Mapped[str] = mapped_column(Text)
    image: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SealedResult(Base):
    """The sealing of one case's result document: ``pending`` while the provincial service has it, ``sealed``
    once the sealed PDF (``file``) is back; ``provider`` local or provincial."""

    __tablename__ = "sealed_result"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    provider: Mapped[str] = mapped_column(String(12))
    state: Mapped[str] = mapped_column(String(12), default="pending")
    data_hash: Mapped[str] = mapped_column(String(64))  # SM3 of the unsealed PDF sent for sealing
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    sealed_at: Mapped[datetime | None]
    file: Mapped[bytes | None] = mapped_column(LargeBinary)
    signature: Mapped[dict[str, Any] | None]

    __table_args__ = (Index("ix_sealed_result_case", "case_id"),)
