"""The government API gateway's request signing that the e-seal and e-archive systems both sit behind.

Each call carries ``X-App-Id``, ``X-Timestamp`` (milliseconds), ``X-Nonce`` and ``X-Signature`` = hex
HMAC-SM3(app secret, ``app_id \\n timestamp \\n nonce \\n SM3(body)``); the gateway refuses a wrong
signature, a timestamp more than five minutes off, and a nonce it has seen.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

WINDOW_MS = 5 * 60 * 1000


def signature(secret: str, app_id: str, timestamp: str, nonce: str, body: bytes) -> str:
    digest = hashlib.new("sm3", body).hexdigest()
    return hmac.new(secret.encode(), f"{app_id}\n{timestamp}\n{nonce}\n{digest}".encode(), "sm3").hexdigest()


def signed_headers(app_id: str, secret: str, body: bytes, request_id: str) -> dict[str, str]:
    timestamp, nonce = str(int(time.time() * 1000)), secrets.token_hex(16)
    return {"Content-Type": "application/json", "X-App-Id": app_id, "X-Timestamp": timestamp, "X-Nonce": nonce,
            "X-Request-Id": request_id, "X-Signature": signature(secret, app_id, timestamp, nonce, body)}


def check(headers: dict[str, str], body: bytes, apps: dict[str, str], nonces: set[str]) -> str | None:
    """For a stand-in: why the gateway refuses this call (None: it passes). Lower-case header names."""
    app_id, timestamp, nonce = headers.get("x-app-id", ""), headers.get("x-timestamp", ""), headers.get("x-nonce", "")
    secret = apps.get(app_id)
    if secret is None:
        return "应用不存在"
    if not hmac.compare_digest(signature(secret, app_id, timestamp, nonce, body), headers.get("x-signature", "")):
        return "签名错误"
    if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > WINDOW_MS:
        return "时间戳超出允许范围"
    if nonce in nonces:
        return "随机数重复"
    nonces.add(nonce)
    return None
