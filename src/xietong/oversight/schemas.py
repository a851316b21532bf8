"""What oversight shows: urge counts, copies and read receipts, orders, ratings, saved opinions."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class UrgeCounts(BaseModel):
    total: int
    by_task: dict[int, int]  # task id -> how often it was open when someone urged
    last_at: datetime | None


class CopyOut(BaseModel):
    person_id: int
    person_name: str
    granted_by_id: int | None
    granted_at: datetime
    read_at: datetime | None


class CopiedItem(BaseModel):
    grant_id: int
    case_id: int
    case_number: str
    case_title: str
    case_status: str
    granted_by_id: int | None
    granted_by_name: str | None
    granted_at: datetime
    read_at: datetime | None


class OrderOut(BaseModel):
    id: int
    kind: str  # supervision 督办 | rectification 整改
    case_id: int
    case_number: str
    case_title: str
    unit_id: int
    unit_name: str
    issued_by_id: int | None
    content: str
    deadline_at: datetime
    state: str  # open | answered | closed
    overdue: bool
    answer: str | None
    answered_by_id: int | None
    answered_at: datetime | None
    sent_back: int
    closed_by_id: int | None
    closed_at: datetime | None
    created_at: datetime


class RatingOut(BaseModel):
    id: int
    case_id: int
    level: str
    level_label: str
    comment: str
    at: datetime
    rectification_id: int | None


class OpinionOut(BaseModel):
    id: int
    text: str
    position: int
