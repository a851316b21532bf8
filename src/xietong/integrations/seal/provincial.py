"""The provincial e-seal service's channel: one signed HTTPS call per result document to be sealed.

The protocol (``docs/seal.md``): ``POST {XIETONG_ESEAL_URL}/api/seal/sign`` with a JSON body —
``requestId`` (the outbound message id: the service seals a request once), ``sealCode`` (the unit's code, by
which the service finds the unit's seal), ``fileName``, ``fileData`` (base64 PDF), ``fileHash`` (its SM3) — and
the gateway's signed headers (``integrations/gateway.py``). It answers
``{"code": 0, "data": {"requestId", "signedFile"}}``; ``signedFile`` must verify, seal exactly the bytes we
sent, or the reply is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import httpx
from sqlalchemy.orm import Session

from xietong.config import Settings
from xietong.integrations.channels import Outgoing, Refused, channel, reply_json
from xietong.integrations.gateway import signed_headers
from xietong.integrations.seal import envelope
from xietong.integrations.seal.service import CHANNEL, provincial_done


def _configured(settings: Settings) -> bool:
    return bool(settings.eseal_url and settings.eseal_app_id and settings.eseal_app_secret)


def _done(session: Session, message: Outgoing, reply: dict[str, Any]) -> None:
    provincial_done(session, message.payload["sealed_result_id"], base64.b64decode(reply["data"]["signedFile"]))


@channel(CHANNEL, label="省电子印章系统", ordered=True, on_done=_done, configured=_configured)
def send(client: httpx.Client, message: Outgoing, settings: Settings) -> dict[str, Any]:
    payload = message.payload
    body = json.dumps({
        "requestId": message.message_id, "sealCode": payload["seal_code"], "unitName": payload["unit_name"],
        "fileName": payload["file_name"], "fileData": payload["file"], "fileHash": payload["file_hash"],
        "docNumber": payload["document"]["number"],
    }, ensure_ascii=False).encode()
    assert settings.eseal_url and settings.eseal_app_id and settings.eseal_app_secret
    response = client.post(f"{settings.eseal_url.rstrip('/')}/api/seal/sign", content=body,
                           headers=signed_headers(settings.eseal_app_id, settings.eseal_app_secret, body,
                                                  message.message_id))
    reply = reply_json(response)
    if reply.get("code") != 0:
        raise Refused(f"省电子印章系统拒绝：{reply.get('code')} {reply.get('msg')}")
    try:
        signed = base64.b64decode(reply["data"]["signedFile"], validate=True)
    except (KeyError, TypeError, binascii.Error) as exc:
        raise Refused("应答缺少已签章文件") from exc
    checked = envelope.verify_file(signed)
    if not checked.ok:
        raise Refused("已签章文件验证失败：" + "；".join(checked.problems))
    assert checked.signature is not None
    if checked.signature["toSign"]["dataHash"] != payload["file_hash"]:
        raise Refused("已签章文件签的不是所送的文件")
    return {"code": 0, "data": {"requestId": reply["data"].get("requestId"), "signedFile": reply["data"]["signedFile"]},
            "dataHash": payload["file_hash"]}
