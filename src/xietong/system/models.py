"""Tables for instance-wide state shared by every process: settings, calendar overrides, counters."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xietong.db.base import Base, utcnow


class SystemSetting(Base):
    """A key-value setting every app process reads (the generated secret lives here)."""

    __tablename__ = "system_setting"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkdayOverride(Base):
    """An administrator's word on one date: a working day (调休) or a day off."""

    __tablename__ = "workday_override"

    day: Mapped[date] = mapped_column(primary_key=True)
    is_working: Mapped[bool]
    note: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Counter(Base):
    """Named counters advanced with an upsert (case numbers per region and day)."""

    __tablename__ = "counter"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)
