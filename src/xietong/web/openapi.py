"""The OpenAPI document tells the truth about errors.

FastAPI describes every route's 422 as its own ``HTTPValidationError`` JSON, which xietong never sends: every
refusal — a malformed body, a domain rule, a missing permission, an unknown path — is RFC 9457 problem+json
(`web/problems.py`). This module rewrites the generated document once: a ``Problem`` schema, every operation's
422 pointing at it, and the other refusals (``4XX``) and the database outage (503) declared in the same shape, so
a client generator — and the schemathesis pass in the tests — can check every answer against the document.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PROBLEM: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details: `code` is stable for programs, `title` and `detail` are Chinese for "
                   "people; `errors` lists each field's problem.",
    "type": "object",
    "required": ["type", "code", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "/problems/{code}"},
        "code": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message", "code"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}, "code": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}

_REF = {"$ref": "#/components/schemas/Problem"}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}}
ERROR_RESPONSES: dict[str, dict[str, Any]] = {
    "422": {"description": "请求内容有误（每个字段的问题见 errors）",
            "content": {"application/problem+json": {"schema": _REF}}},
    "4XX": {"description": "请求被拒绝：未登录 401、无权限 403、不存在 404、冲突 409、过大 413、"
                           "过于频繁 429（带 Retry-After）",
            "content": {"application/problem+json": {"schema": _REF}}},
    "503": {"description": "数据库暂时无法连接，本次操作未执行", "headers": _RETRY_AFTER,
            "content": {"application/problem+json": {"schema": _REF}}},
}
_UNUSED = ("HTTPValidationError", "ValidationError")


def describe_problems(app: FastAPI) -> None:
    """Make ``app.openapi()`` describe every error answer as the problem+json it is."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=app.routes)
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for name in _UNUSED:
                schemas.pop(name, None)
            schemas["Problem"] = PROBLEM
            for item in document.get("paths", {}).values():
                for operation in item.values():
                    if isinstance(operation, dict) and "responses" in operation:
                        operation["responses"].update(ERROR_RESPONSES)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
