"""Errors on pages: HTML in Chinese instead of problem+json. Not logged in → the log-in page (htmx gets an
``HX-Redirect``); 403 and 404 get their own pages; the API keeps its problem+json handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from xietong.errors import DomainError
from xietong.web.deps import SESSION_COOKIE
from xietong.web.pages.rendering import is_htmx, render
from xietong.web.problems import STATUS_BY_KIND

Handler = Callable[[Request, Exception], Awaitable[Response]]
RESTRICTED = frozenset({"password_change_required", "totp_enrolment_required"})  # security/totp.session_restriction
NOT_PAGES = ("/api/", "/static/", "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/redoc")


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(NOT_PAGES)


def login_redirect(request: Request) -> Response:
    """To the log-in page, coming back here afterwards (for htmx: to the page the fragment was asked from)."""
    if is_htmx(request) and request.headers.get("hx-current-url"):
        here = urlsplit(request.headers["hx-current-url"])
    else:
        here = urlsplit(str(request.url))
    location = f"/login?next={quote(here.path + (f'?{here.query}' if here.query else ''), safe='')}"
    if request.cookies.get(SESSION_COOKIE):
        location += "&expired=1"  # there was a session: it timed out
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


def _to_account(request: Request) -> Response:
    """A session that must first change its password or enrol a second factor: to the account page."""
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": "/account"})
    return RedirectResponse("/account", status_code=303)


def error_page(request: Request, status: int, title: str, detail: str) -> Response:
    """A Chinese error page; for an htmx request a small dialog with the message instead of a whole page."""
    if is_htmx(request):
        context = {"title": title, "detail": detail, "status": status}
        return render(request, "errors/_dialog.html", context, status_code=status, partial=True)
    template = {403: "errors/403.html", 404: "errors/404.html"}.get(status, "errors/error.html")
    return render(request, template, {"title": title, "detail": detail, "status": status}, status_code=status)


def pages_or(api_handler: Handler) -> Handler:
    """Wrap an API error handler: page requests get HTML, everything else what the API handler answers."""

    async def handle(request: Request, exc: Exception) -> Response:
        if not is_page(request):
            return await api_handler(request, exc)
        if isinstance(exc, DomainError):
            if exc.kind == "unauthenticated":
                return login_redirect(request)
            if exc.code in RESTRICTED:
                return _to_account(request)
            return error_page(request, STATUS_BY_KIND.get(exc.kind, 400), exc.title, exc.detail)
        if isinstance(exc, StarletteHTTPException):
            if exc.status_code == 404:
                return error_page(request, 404, "找不到页面", "您访问的页面不存在或已被移除。")
            return error_page(request, exc.status_code, "请求失败", "请求无法完成，请返回重试。")
        if isinstance(exc, RequestValidationError):
            return error_page(request, 422, "输入有误", "请求的参数格式有误，请返回修改后重试。")
        return await api_handler(request, exc)

    return handle
