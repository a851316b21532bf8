"""Who is behind a page request: the session cookie, with the CSRF token from htmx's header or, for a
plain form post, from the form's hidden field. Not logged in → the log-in page (see ``pages/errors.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from xietong.errors import Forbidden, Unauthenticated
from xietong.security.principal import Principal
from xietong.web.deps import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE, authenticate
from xietong.web.pages.rendering import CSRF_FIELD


async def page_principal(request: Request) -> Principal:
    sent = request.headers.get(CSRF_HEADER)
    form = None
    if sent is None and request.method not in SAFE_METHODS:
        form = await request.form()  # Starlette keeps the parsed form for the route's own Form() parameters
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else ""
    try:
        return await run_in_threadpool(authenticate, request, csrf_sent=sent or "")
    except Exception:
        if form is not None:
            await form.close()  # the route that would close its uploads' temporary files never runs
        raise


PagePrincipal = Annotated[Principal, Depends(page_principal)]


async def pending_page_principal(request: Request) -> Principal:
    """As ``page_principal``, but also for a session that must first change its initial password or enrol a
    second factor (the account pages, where it does that); the restriction stays in ``request.state``."""
    try:
        return await page_principal(request)
    except Forbidden as exc:
        restriction = getattr(request.state, "restriction", None)
        principal = getattr(request.state, "principal", None)
        if restriction is None or exc is not restriction or principal is None:
            raise
        return principal  # type: ignore[no-any-return]


PendingPagePrincipal = Annotated[Principal, Depends(pending_page_principal)]


async def optional_principal(request: Request) -> Principal | None:
    """The person on a page anyone may see (landing, log-in): None when not logged in."""
    if not request.cookies.get(SESSION_COOKIE):
        return None
    try:
        return await run_in_threadpool(authenticate, request, csrf_sent="")
    except Unauthenticated:
        return None


MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]


def person_id(principal: Principal) -> int:
    if principal.kind != "person" or principal.id is None:
        raise Forbidden(code="not_a_person", detail="只有人员可以使用页面")
    return principal.id
