"""Errors as RFC 9457 problem+json: a stable ``type``/``code``, a Chinese title and detail."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from xietong.errors import DomainError

STATUS_BY_KIND = {
    "invalid": 422, "not_found": 404, "forbidden": 403, "unauthenticated": 401, "conflict": 409,
    "too_large": 413, "unavailable": 503,
}


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": f"/problems/{code}", "code": code, "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


async def domain_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    errors = [{"field": e.field, "message": e.message, "code": e.code} for e in exc.errors]
    return problem(STATUS_BY_KIND.get(exc.kind, 400), exc.code, exc.title, exc.detail, errors=errors, **exc.extra)


async def validation_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": ".".join(str(p) for p in e["loc"]), "message": "取值无效", "code": e["type"]}
              for e in exc.errors()]
    return problem(422, "request_invalid", "请求格式有误", f"请求有 {len(errors)} 处格式问题", errors=errors)
