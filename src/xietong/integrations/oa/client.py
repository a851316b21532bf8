"""The ``oa`` channel: results and refusals sent back to the OA as documents."""

from __future__ import annotations

import json
from typing import Any

import httpx

from xietong.config import Settings
from xietong.integrations.channels import Outgoing, Refused, channel, reply_json
from xietong.integrations.oa.protocol import signed_headers


def configured(settings: Settings) -> bool:
    return bool(settings.oa_url and settings.oa_app_id and settings.oa_secret)


@channel("oa", label="OA 公文交换", configured=configured)
def send(http: httpx.Client, message: Outgoing, settings: Settings) -> dict[str, Any]:
    assert settings.oa_url and settings.oa_app_id and settings.oa_secret
    body = json.dumps({"message_id": message.message_id, "kind": message.kind, **message.payload},
                      ensure_ascii=False).encode()
    reply = reply_json(http.post(f"{settings.oa_url.rstrip('/')}/documents/receive", content=body,
                                 headers=signed_headers(settings.oa_secret, settings.oa_app_id, body)))
    if reply.get("ok") is not True:
        raise Refused(f"OA 拒收：{reply.get('message') or reply}")
    return reply
