"""What the case library shows: summaries for lists, a case's detail, to-do items and events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class CaseSummary(BaseModel):
    id: int
    number: str
    title: str
    matter_name: str
    local_matter_id: int
    status: str
    status_label: str
    channel: str
    region_id: int
    handling_unit_id: int
    handling_unit_name: str
    applicant_unit_id: int
    applicant_unit_name: str
    applicant_person_id: int | None  # None: filed by an application client
    applicant_person_name: str | None
    kind: str
    promised_limit_days: int
    submitted_at: datetime | None
    accepted_at: datetime | None
    due_at: datetime | None
    concluded_at: datetime | None
    result: str | None
    card: str  # none | yellow | red (only while the clock runs)
    remaining_working_days: int | None


class TaskItem(BaseModel):
    id: int
    case_id: int
    case_number: str
    case_title: str
    case_status: str
    node_id: str
    name: str
    unit_id: int
    post_id: int | None
    assignee_id: int | None
    acting_for_id: int | None
    shared: bool  # a post's shared task nobody has claimed yet (签收 first)
    claimed_at: datetime | None = None  # when a holder of the post claimed it (退回签收 gives it back)
    delegate_id: int | None = None  # 委派: the colleague it is lent to
    state: str
    created_at: datetime
    due_at: datetime | None
    card: str
    completed_at: datetime | None
    remaining_working_days: int | None = None  # while the step's clock runs; negative once overdue
    outcome: str | None
    opinion: str | None


class EventOut(BaseModel):
    seq: int
    type: str
    actor_kind: str
    actor_id: int | None
    actor_name: str | None
    acting_for_id: int | None
    at: datetime
    delta: dict[str, Any]
    hash: str


class AttachmentItem(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    material_code: str | None
    uploaded_at: datetime
    # 减材料: a file linked from the catalogue says where it came from (None: uploaded for this case)
    source: str | None = None
    shared_version_id: int | None = None
    source_document_id: int | None = None


class CaseDetail(BaseModel):
    case: CaseSummary
    matter_version_id: int
    form: dict[str, Any]
    step_results: dict[str, Any]
    reason: str | None
    result_note: str | None
    open_tasks: list[TaskItem]
    actions: list[str]  # case-level operations this person may take now
    task_actions: dict[int, list[str]]  # task id -> complete | claim
    oversight_actions: list[str] = []  # urge | supervise | copy | rate | answer_order | close_order, as far
    # as this person may now
    attachments: list[AttachmentItem] = []  # the case's files, each linked one saying where it came from
