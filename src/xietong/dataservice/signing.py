"""Webhook signatures: HMAC-SHA256 over ``"{timestamp}.{body}"`` with the subscription's secret (docs/webhooks.md).

The timestamp is signed with the body so a captured delivery cannot be replayed later: a receiver refuses a
timestamp more than ``TOLERANCE_SECONDS`` away from its own clock.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Xietong-Signature"
TIMESTAMP_HEADER = "X-Xietong-Timestamp"
DELIVERY_HEADER = "X-Xietong-Delivery"
EVENT_HEADER = "X-Xietong-Event"
TOLERANCE_SECONDS = 300


def sign(secret: str, *, timestamp: int, body: bytes) -> str:
    """The signature header's value: ``v1=`` and the hex HMAC-SHA256 of ``timestamp.body``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(secret: str, *, timestamp: str, signature: str, body: bytes, now: float) -> bool:
    """What a receiver does: a fresh timestamp and a matching signature (compared in constant time)."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    expected = sign(secret, timestamp=int(timestamp), body=body)
    return any(hmac.compare_digest(expected, candidate.strip()) for candidate in signature.split(","))
