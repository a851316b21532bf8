"""Domain errors: a stable machine code plus a Chinese title and detail; the web layer maps them to HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one input field (a form field, a spreadsheet cell, a JSON path)."""

    field: str
    message: str
    code: str = "invalid"


@dataclass
class DomainError(Exception):
    """Base of every error a service raises on purpose; ``kind`` decides the HTTP status."""

    code: str
    detail: str
    title: str = ""
    errors: list[FieldProblem] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    kind: ClassVar[str] = "invalid"
    default_title: ClassVar[str] = "请求无效"

    def __post_init__(self) -> None:
        if not self.title:
            self.title = self.default_title
        super().__init__(self.detail)


class InvalidInput(DomainError):
    """The input breaks a rule (400/422)."""

    kind = "invalid"
    default_title = "输入有误"


class NotFound(DomainError):
    kind = "not_found"
    default_title = "找不到对象"


class Forbidden(DomainError):
    kind = "forbidden"
    default_title = "无权操作"


class Unauthenticated(DomainError):
    kind = "unauthenticated"
    default_title = "请先登录"


class Conflict(DomainError):
    """The state changed under the caller (task already done, wrong case status): 409."""

    kind = "conflict"
    default_title = "操作冲突"


class TooManyRequests(DomainError):
    """A client went over its rate limit (429); ``extra["retry_after"]`` is the seconds until it may retry."""

    kind = "rate_limited"
    default_title = "请求过于频繁"


class TooLarge(DomainError):
    kind = "too_large"
    default_title = "内容过大"


class Unavailable(DomainError):
    kind = "unavailable"
    default_title = "服务暂不可用"


class InsufficientStorage(DomainError):
    """The server has no room to keep what was sent (a full disk): 507, nothing was kept."""

    kind = "insufficient_storage"
    default_title = "存储空间不足"
