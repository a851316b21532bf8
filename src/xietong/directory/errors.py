"""The directory's refusals: one constructor per kind, so codes and Chinese wording stay the same everywhere."""

from __future__ import annotations

from xietong.errors import Conflict, FieldProblem, InvalidInput, NotFound


def not_found(kind: str, label: str, key: object) -> NotFound:
    """The addressed object does not exist (code ``<kind>_not_found``)."""
    return NotFound(code=f"{kind}_not_found", detail=f"找不到{label}：{key}")


def unknown_reference(field: str, label: str, key: object) -> InvalidInput:
    """The input refers to an object that does not exist (code ``unknown_<field>``)."""
    message = f"找不到{label}：{key}"
    return InvalidInput(code=f"unknown_{field}", detail=message, errors=[FieldProblem(field, message, "unknown")])


def taken(kind: str, label: str, value: object) -> Conflict:
    """A unique value is already in use (code ``<kind>_taken``)."""
    return Conflict(code=f"{kind}_taken", detail=f"{label}已被占用：{value}")


def refused(code: str, detail: str, field: str | None = None) -> InvalidInput:
    """The input breaks a rule of the directory; ``field`` names the offending field when there is one."""
    errors = [FieldProblem(field, detail, code)] if field else []
    return InvalidInput(code=code, detail=detail, errors=errors)
