"""The case-level state machine (apart from process state): statuses, channels and legal transitions."""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"  # 受理: the clock starts, the process starts
    IN_PROGRESS = "in_progress"
    SUPPLEMENTING = "supplementing"  # 补正: clock paused
    SUSPENDED = "suspended"  # 挂起: clock paused
    SPECIAL_PROCEDURE = "special_procedure"  # 特别程序: clock stopped
    CONCLUDED = "concluded"  # 办结 准予/不予
    ARCHIVED = "archived"
    REJECTED = "rejected"  # 不予受理
    WITHDRAWN = "withdrawn"


STATUS_LABELS: dict[CaseStatus, str] = {
    CaseStatus.DRAFT: "草稿",
    CaseStatus.SUBMITTED: "已申请",
    CaseStatus.ACCEPTED: "已受理",
    CaseStatus.IN_PROGRESS: "办理中",
    CaseStatus.SUPPLEMENTING: "补正中",
    CaseStatus.SUSPENDED: "已挂起",
    CaseStatus.SPECIAL_PROCEDURE: "特别程序",
    CaseStatus.CONCLUDED: "已办结",
    CaseStatus.ARCHIVED: "已归档",
    CaseStatus.REJECTED: "不予受理",
    CaseStatus.WITHDRAWN: "已撤回",
}


class Channel(StrEnum):
    WEB = "web"
    MOBILE = "mobile"
    API = "api"
    COUNTER = "counter"
    OA = "oa"


class Result(StrEnum):
    GRANTED = "granted"  # 准予
    DENIED = "denied"  # 不予


S = CaseStatus
# operation -> (statuses it may start from, status it leads to; None = back to the status before the pause)
TRANSITIONS: dict[str, tuple[frozenset[CaseStatus], CaseStatus | None]] = {
    "submit": (frozenset({S.DRAFT}), S.SUBMITTED),
    "withdraw": (frozenset({S.SUBMITTED}), S.WITHDRAWN),
    "accept": (frozenset({S.SUBMITTED}), S.ACCEPTED),
    "reject": (frozenset({S.SUBMITTED}), S.REJECTED),
    "complete_task": (frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.IN_PROGRESS),
    "supplement": (frozenset({S.SUBMITTED, S.ACCEPTED, S.IN_PROGRESS}), S.SUPPLEMENTING),
    "resubmit": (frozenset({S.SUPPLEMENTING}), None),
    "suspend": (frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.SUSPENDED),
    "resume": (frozenset({S.SUSPENDED}), None),
    "start_special_procedure": (frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.SPECIAL_PROCEDURE),
    "end_special_procedure": (frozenset({S.SPECIAL_PROCEDURE}), None),
    "conclude": (frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.CONCLUDED),
    "archive": (frozenset({S.CONCLUDED, S.REJECTED, S.WITHDRAWN}), S.ARCHIVED),
}

OPEN_STATUSES = frozenset({S.SUBMITTED, S.ACCEPTED, S.IN_PROGRESS, S.SUPPLEMENTING, S.SUSPENDED, S.SPECIAL_PROCEDURE})
PAUSED_STATUSES = frozenset({S.SUPPLEMENTING, S.SUSPENDED, S.SPECIAL_PROCEDURE})
