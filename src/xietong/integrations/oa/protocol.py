"""The OA exchange's wire format, the same in both directions.

A call is an HTTP POST of a UTF-8 JSON body with ``X-Exchange-App-Id``, ``X-Exchange-Timestamp`` (Unix seconds)
and ``X-Exchange-Signature`` = hex HMAC-SHA256 over ``timestamp + "." + body`` with the secret the two systems
share; the receiver refuses a timestamp more than five minutes off. OA → xietong:
``POST /api/v1/oa/documents`` with an incoming document; xietong → OA: ``POST {oa}/documents/receive`` with the
result or the refusal, carrying ``message_id`` (the receiver de-duplicates by it) and ``reply_to`` (the OA's
document id). A reply is ``{"ok": true, …}``; anything else is a refusal.
"""

from __future__ import annotations

import hashlib
import hmac
import time

APP_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER = "X-Exchange-App-Id", "X-Exchange-Timestamp", "X-Exchange-Signature"
WINDOW_SECONDS = 300


def sign(secret: str, *, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signed_headers(secret: str, app_id: str, body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {"Content-Type": "application/json", APP_HEADER: app_id, TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp=timestamp, body=body)}


def verify(secret: str, *, app_id: str, expected_app_id: str, timestamp: str, signature: str, body: bytes,
           now: float | None = None) -> str | None:
    """Why the call is refused (Chinese), or ``None`` when it is authentic and fresh."""
    if not hmac.compare_digest(app_id, expected_app_id):
        return "应用标识无效"
    if not timestamp.isdigit() or abs((now or time.time()) - int(timestamp)) > WINDOW_SECONDS:
        return "时间戳超出允许范围"
    if not hmac.compare_digest(sign(secret, timestamp=timestamp, body=body), signature):
        return "签名验证失败"
    return None
