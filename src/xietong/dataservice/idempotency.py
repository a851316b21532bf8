"""Idempotency keys: the first POST with a key is recorded with its response; the same key again replays it.

Same owner + key + request (method, path, query and body digest) → the stored response, the operation not run
again; the same key with a different request → 422. While the first is still running a repeat gets 409; a
record left pending by a crashed process is taken over after ``ABANDONED``. Records live ``KEEP`` (a day).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xietong.dataservice.models import IdempotencyRecord
from xietong.errors import Conflict, InvalidInput

KEEP = timedelta(hours=24)
ABANDONED = timedelta(seconds=60)
MAX_KEY = 200
NOT_STORED = frozenset({401, 408, 429})  # answers about the moment, not the request: a retry must run again


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Begun:
    record_id: int | None  # set: run the request and finish this record
    replay: StoredResponse | None  # set: answer with this, run nothing


def request_digest(method: str, path: str, query: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), query.encode(), body])).hexdigest()


def check_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY or not key.isprintable():
        raise InvalidInput(code="bad_idempotency_key", detail=f"Idempotency-Key 须为 1–{MAX_KEY} 个可见字符")
    return key


def begin(session: Session, *, owner: str, key: str, digest: str, now: datetime) -> Begun:
    """Record a new key, or find what the earlier request with it answered."""
    session.execute(delete(IdempotencyRecord).where(
        IdempotencyRecord.owner == owner, IdempotencyRecord.key == key, IdempotencyRecord.created_at < now - KEEP
    ))
    found = session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.owner == owner, IdempotencyRecord.key == key)
        .with_for_update()
    )
    if found is not None:
        if found.request_digest != digest:
            raise InvalidInput(code="idempotency_key_reused", detail="该 Idempotency-Key 已用于另一个不同的请求")
        if found.state == "done":
            return Begun(None, StoredResponse(found.status or 200, dict(found.headers), found.body or b""))
        if found.created_at > now - ABANDONED:
            raise Conflict(code="idempotency_in_progress", detail="相同 Idempotency-Key 的请求正在处理，请稍后重试",
                           extra={"retry_after": 1})
        found.created_at = now  # its process died before answering: this request takes its place
        session.flush()
        return Begun(found.id, None)
    record = IdempotencyRecord(owner=owner, key=key, request_digest=digest, state="pending", created_at=now)
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError as exc:  # the same key inserted by a concurrent request a moment ago
        raise Conflict(code="idempotency_in_progress", detail="相同 Idempotency-Key 的请求正在处理，请稍后重试",
                       extra={"retry_after": 1}) from exc
    return Begun(record.id, None)


def finish(session: Session, *, record_id: int, status: int, headers: dict[str, Any], body: bytes) -> None:
    """Keep the answer for replays (or drop the record when the answer should not be replayed)."""
    record = session.get(IdempotencyRecord, record_id)
    if record is None:
        return
    if status >= 500 or status in NOT_STORED:
        session.delete(record)
    else:
        record.state, record.status, record.headers, record.body = "done", status, headers, body
    session.flush()
