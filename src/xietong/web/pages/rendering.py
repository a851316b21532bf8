"""Templates for the pages: the Jinja2 environment with our filters, and ``render`` with the base context
every page's layout needs (who is logged in, the CSRF token htmx sends, the unread count)."""

from __future__ import annotations

import json
from datetime import datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.templating import Jinja2Templates

from xietong.cases import notifications
from xietong.security.permissions import administers_some, may_administer, may_supervise
from xietong.security.principal import Principal
from xietong.web.deps import CSRF_HEADER, reading, settings_of

ADMIN_AREAS = ("directory", "calendar", "catalog")  # security.permissions.ADMIN_ROLES areas with a page
WHOLE_AREAS = frozenset({"calendar"})  # instance-wide: only an "all" scope administers them


def admin_areas(principal: Principal) -> list[str]:
    """The administration areas ``principal`` may open (the 管理 navigation and the /admin index)."""
    if principal.kind != "person":
        return []
    return [area for area in ADMIN_AREAS
            if (may_administer(principal, area) if area in WHOLE_AREAS else administers_some(principal, area))]


CARD_LABELS = {"yellow": "黄牌", "red": "红牌"}
CSRF_FIELD = "csrf_token"


def make_templates(timezone: str) -> Jinja2Templates:
    env = Environment(loader=PackageLoader("xietong.web", "templates"), autoescape=select_autoescape(("html", "svg")))
    zone = ZoneInfo(timezone)

    def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return value.astimezone(zone).strftime(fmt) if value is not None else "—"

    env.filters["local"] = local
    env.filters["card_label"] = lambda card: CARD_LABELS.get(card, "")
    env.globals["CSRF_FIELD"] = CSRF_FIELD
    env.globals["may_supervise"] = may_supervise  # the nav offers 监管 only to supervisory roles
    return Jinja2Templates(env=env)


def base_context(request: Request) -> dict[str, Any]:
    """What the layout shows: the person (if any), the htmx CSRF header, the unread notifications."""
    principal = getattr(request.state, "principal", None)
    csrf = getattr(request.state, "csrf_token", None)
    unread = 0
    if principal is not None and principal.id is not None:
        with reading(request) as session:
            unread = notifications.unread_count(session, person_id=principal.id)
    return {
        "principal": principal,
        "csrf_token": csrf,
        "hx_headers": json.dumps({CSRF_HEADER: csrf}) if csrf else None,
        "unread": unread,
        "demo": settings_of(request).demo,
        "path": request.url.path,
        "admin_nav": principal is not None and bool(admin_areas(principal)),
    }


def render(request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200,
           partial: bool = False) -> HTMLResponse:
    """A page (or, with ``partial``, an htmx fragment that needs no layout context)."""
    templates: Jinja2Templates = request.app.state.templates
    values = {"principal": getattr(request.state, "principal", None)} if partial else base_context(request)
    values.update(context or {})
    return templates.TemplateResponse(request, name, values, status_code=status_code)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def plain(row: Any) -> SimpleNamespace:
    """A row's columns as a plain object, for a template rendered after its session has closed."""
    return SimpleNamespace(**{column.key: getattr(row, column.key) for column in row.__table__.columns})
