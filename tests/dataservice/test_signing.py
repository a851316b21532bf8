"""The documented signature scheme: what a receiver accepts and what it refuses."""

from __future__ import annotations

import time

from xietong.dataservice.signing import sign, verify


def test_a_receiver_accepts_the_signature_of_the_exact_body_and_a_fresh_timestamp() -> None:
    now = int(time.time())
    body = b'{"delivery_id":1,"event":{"type":"case.submitted"}}'
    signature = sign("whsec_secret", timestamp=now, body=body)
    assert signature.startswith("v1=") and len(signature) == 3 + 64
    assert verify("whsec_secret", timestamp=str(now), signature=signature, body=body, now=now)


def test_a_receiver_refuses_another_secret_a_changed_body_or_an_old_timestamp() -> None:
    now = int(time.time())
    body = b'{"delivery_id":1}'
    signature = sign("whsec_secret", timestamp=now, body=body)
    assert not verify("whsec_other", timestamp=str(now), signature=signature, body=body, now=now)
    assert not verify("whsec_secret", timestamp=str(now), signature=signature, body=b'{"delivery_id":2}', now=now)
    old = now - 301
    stale = sign("whsec_secret", timestamp=old, body=body)
    assert not verify("whsec_secret", timestamp=str(old), signature=stale, body=body, now=now)
    assert not verify("whsec_secret", timestamp="soon", signature=signature, body=body, now=now)
