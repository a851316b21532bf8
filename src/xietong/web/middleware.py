"""The one ASGI middleware around every request: request id, security headers, latency metrics, access log.

Pure ASGI (not ``BaseHTTPMiddleware``) so it adds no task or copy per request. The request id comes from
``X-Request-ID`` when the caller sends a sane one, else it is new; it is echoed back and set in a context
variable that every log line of the request carries (``xietong.logs``).

Headers: a Content-Security-Policy without inline scripts (same-origin scripts and styles, ``data:``
images), frame denial, ``nosniff``, a strict referrer policy, and HSTS when the request came over TLS —
directly, or through a proxy that says so in ``X-Forwarded-Proto`` when ``XIETONG_TRUST_FORWARDED_PROTO``
is set (then the request's scheme becomes ``https`` too, so cookies get ``Secure``).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xietong.config import Settings
from xietong.logs import request_id_var
from xietong.web.metrics import Metrics

access_log = logging.getLogger("xietong.access")

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
# FastAPI's /docs and /redoc pages load their viewer from a CDN with an inline bootstrap script; they are the
# one exception (they show only the OpenAPI document, no data).
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "worker-src blob:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
REQUEST_ID_HEADER = "x-request-id"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def security_headers(path: str, *, https: bool, hsts_max_age: int) -> list[tuple[str, str]]:
    headers = [
        ("content-security-policy", DOCS_CSP if path in DOCS_PATHS else CSP),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        ("cross-origin-opener-policy", "same-origin"),
        ("permissions-policy", "camera=(), microphone=(), geolocation=()"),
    ]
    if https and hsts_max_age > 0:
        headers.append(("strict-transport-security", f"max-age={hsts_max_age}; includeSubDomains"))
    return headers


class RequestMiddleware:
    def __init__(self, app: ASGIApp, *, settings: Settings, metrics: Metrics) -> None:
        self.app, self.settings, self.metrics = app, settings, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _SANE_ID.match(incoming) else uuid.uuid4().hex
        if self.settings.trust_forwarded_proto and _header(scope, b"x-forwarded-proto") == "https":
            scope["scheme"] = "https"
        https = scope.get("scheme") == "https"
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in security_headers(
                    scope["path"], https=https, hsts_max_age=self.settings.hsts_max_age
                ):
                    if name not in headers:
                        headers[name] = value
                headers[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            self.metrics.observe_request(scope["method"], route, status, elapsed)
            access_log.info(
                "%s %s %s", scope["method"], scope["path"], status,
                extra={"method": scope["method"], "path": scope["path"], "route": route, "status": status,
                       "duration_ms": round(elapsed * 1000, 2)},
            )
            request_id_var.reset(token)


def route_template(scope: Scope) -> str:
    """The matched route's template (``/api/v1/tasks/{task_id}/complete``), or ``unmatched``.

    FastAPI keeps included routers as such and records the full template of the matched route in its own
    scope entry; the router's ``route`` entry has the path relative to the innermost router.
    """
    context = (scope.get("fastapi") or {}).get("effective_route_context")
    for candidate in (context, scope.get("route")):
        path = getattr(candidate, "path_format", None) or getattr(candidate, "path", None)
        if path:
            return str(path)
    return "unmatched"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            decoded: Any = value.decode("latin-1")
            return str(decoded).strip()
    return None
