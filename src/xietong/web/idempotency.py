"""The ``Idempotency-Key`` header on every POST, as ASGI middleware: replay the stored answer or record a new one.

The caller is identified the way ``deps.current_principal`` does (client token, personal token or session
cookie), so a client's key is its own whatever token it presents; a request nobody can be identified for
passes through untouched and its route answers 401. The rules are ``xietong.dataservice.idempotency``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xietong.dataservice import idempotency
from xietong.dataservice.clients import is_client_token, token_client
from xietong.db.base import utcnow
from xietong.db.session import read_only, unit_of_work
from xietong.errors import DomainError
from xietong.security.auth import find_session, token_person
from xietong.web.deps import SESSION_COOKIE
from xietong.web.problems import domain_error_handler

KEPT_HEADERS = ("content-type", "location")


def owner_of(engine: Engine, headers: Headers) -> str | None:
    now = utcnow()
    scheme, _, raw = headers.get("authorization", "").partition(" ")
    raw = raw.strip()
    cookie = next((c.split("=", 1)[1] for c in headers.get("cookie", "").split("; ")
                   if c.startswith(SESSION_COOKIE + "=")), None)
    try:
        with read_only(engine) as session:
            if scheme.lower() == "bearer" and raw:
                if is_client_token(raw):
                    return f"client:{token_client(session, raw=raw, now=now).id}"
                return f"person:{token_person(session, raw=raw, now=now)[0]}"
            if cookie:
                return f"person:{find_session(session, cookie=cookie, now=now).person_id}"
    except DomainError:
        return None
    return None


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get("idempotency-key")
        if key is None:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        engine: Engine = scope["app"].state.engine
        try:
            idempotency.check_key(key)
            owner = await run_in_threadpool(owner_of, engine, headers)
            begun = None
            if owner is not None:
                digest = idempotency.request_digest("POST", scope["path"], scope.get("query_string", b"").decode(),
                                                    body)
                begun = await run_in_threadpool(_begin, engine, owner, key, digest)
        except DomainError as exc:
            response = await domain_error_handler(None, exc)  # type: ignore[arg-type]
            await response(scope, receive, send)
            return
        if begun is not None and begun.replay is not None:
            await _replay(begun.replay, send)
            return
        await self._run(scope, body, send, engine, begun.record_id if begun else None)

    async def _run(self, scope: Scope, body: bytes, send: Send, engine: Engine, record_id: int | None) -> None:
        sent = False

        async def replay_body() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        except BaseException:
            if record_id is not None:
                await run_in_threadpool(_finish, engine, record_id, 500, {}, b"")
            raise
        if record_id is not None:
            kept = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])
                    if k.decode().lower() in KEPT_HEADERS}
            await run_in_threadpool(_finish, engine, record_id, start.get("status", 500), kept, b"".join(chunks))


async def _read_body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)


async def _replay(stored: idempotency.StoredResponse, send: Send) -> None:
    headers = [(k.encode(), v.encode()) for k, v in stored.headers.items()]
    headers += [(b"content-length", str(len(stored.body)).encode()), (b"idempotent-replayed", b"true")]
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})


def _begin(engine: Engine, owner: str, key: str, digest: str) -> idempotency.Begun:
    with unit_of_work(engine) as session:
        return idempotency.begin(session, owner=owner, key=key, digest=digest, now=utcnow())


def _finish(engine: Engine, record_id: int, status: int, headers: dict[str, str], body: bytes) -> None:
    with unit_of_work(engine) as session:
        idempotency.finish(session, record_id=record_id, status=status, headers=headers, body=body)
