"""Errors as RFC 9457 problem+json: a stable ``type``/``code``, a Chinese title and detail."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from xietong.errors import DomainError
from xietong.validation import problems_from

logger = logging.getLogger(__name__)

STATUS_BY_KIND = {
    "invalid": 422, "not_found": 404, "forbidden": 403, "unauthenticated": 401, "conflict": 409,
    "too_large": 413, "unavailable": 503, "rate_limited": 429,
    "insufficient_storage": 507,
}


RESERVED = frozenset({"type", "code", "title", "status", "detail", "errors"})


def problem(
    status: int, code: str, title: str, detail: str, *, errors: list[dict[str, str]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    """A problem+json response; an extension member may never overwrite a standard one (it moves to ``context``)."""
    extra = extra or {}
    body: dict[str, Any] = {k: v for k, v in extra.items() if k not in RESERVED}
    clashing = {k: v for k, v in extra.items() if k in RESERVED}
    if errors is not None:
        body["errors"] = errors
    if clashing:
        body["context"] = clashing
    body.update({"type": f"/problems/{code}", "code": code, "title": title, "status": status, "detail": detail})
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


async def domain_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    errors = [{"field": e.field, "message": e.message, "code": e.code} for e in exc.errors]
    response = problem(
        STATUS_BY_KIND.get(exc.kind, 400), exc.code, exc.title, exc.detail, errors=errors, extra=exc.extra
    )
    if "retry_after" in exc.extra:
        response.headers["Retry-After"] = str(exc.extra["retry_after"])
    return response


async def validation_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": p.field, "message": p.message, "code": p.code} for p in problems_from(exc.errors())]
    return problem(422, "request_invalid", "请求格式有误", f"请求有 {len(errors)} 处格式问题", errors=errors)


_HTTP_CODES = {
    404: ("not_found", "找不到对象", "请求的地址不存在"),
    405: ("method_not_allowed", "方法不允许", "该地址不支持这种请求方法"),
    406: ("not_acceptable", "无法提供", "无法按请求的格式返回"),
    413: ("too_large", "内容过大", "请求内容过大"),
    415: ("unsupported_media_type", "格式不支持", "不支持该请求内容格式"),
}


async def http_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """Framework errors (unknown path, wrong method…) in the same problem+json shape as ours."""
    assert isinstance(exc, StarletteHTTPException)
    code, title, detail = _HTTP_CODES.get(exc.status_code, ("http_error", "请求失败", str(exc.detail)))
    response = problem(exc.status_code, code, title, detail)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


# Seconds a client is asked to wait before retrying while the database is away.
OUTAGE_RETRY_AFTER = 5


def is_database_outage(exc: BaseException) -> bool:
    """The database could not be reached or dropped the connection (not a bug in a statement).

    A connection the pool found broken is ``connection_invalidated``; a refused or cut connection to PostgreSQL
    is psycopg's ``OperationalError``; SQLite's only such case is a lock held past the busy timeout.
    """
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    if type(exc.orig).__module__.split(".", 1)[0] == "psycopg":
        return True
    return "database is locked" in str(exc.orig)


async def database_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Errors from the database driver raised in a route: the database away is no bug but 503 (a normal response,
    so the connection stays usable); anything else is a bug like any other."""
    if not is_database_outage(exc):
        return await unexpected_error_handler(request, exc)
    logger.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc.__class__.__name__)
    response = problem(503, "database_unavailable", "服务暂不可用", "数据库暂时无法连接，本次操作未执行；请稍后重试")
    response.headers["Retry-After"] = str(OUTAGE_RETRY_AFTER)
    return response


def is_number_out_of_range(exc: BaseException) -> bool:
    """A number in the request that the database cannot hold — an id beyond 64 bits, say: the caller's mistake,
    met only when the driver binds it (SQLite's module refuses to convert it; PostgreSQL refuses to store it)."""
    if isinstance(exc, OverflowError):
        return any(text in str(exc) for text in ("SQLite INTEGER", "signed integer is"))
    return isinstance(exc, DataError) and type(exc.orig).__name__ == "NumericValueOutOfRange"


def number_out_of_range() -> JSONResponse:
    return problem(422, "number_out_of_range", "输入有误",
                   "请求中的数字超出了可接受的范围（编号为不超过 9223372036854775807 的正整数）")


async def overflow_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """An ``OverflowError`` raised in a route: a number too large for the database is 422, anything else a bug."""
    return number_out_of_range() if is_number_out_of_range(exc) else await unexpected_error_handler(request, exc)


async def unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A bug: logged with its traceback, answered without internals. The database away (met outside a route,
    e.g. in a middleware) is no bug: 503; nor is a number too large for the database: 422."""
    if is_database_outage(exc):
        return await database_error_handler(request, exc)
    if is_number_out_of_range(exc):
        return number_out_of_range()
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "internal_error", "系统错误", "系统内部错误，请稍后重试；如持续出现请联系管理员")
