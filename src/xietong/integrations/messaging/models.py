"""Who gets messages in the messaging app: one row per person who changed the default (messaging on)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from xietong.db.base import Base, utcnow


class MessagingPreference(Base):
    """A person's channel choice. In-app notifications are always on and have no switch; no row = messaging on."""

    __tablename__ = "messaging_preference"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    messaging: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
