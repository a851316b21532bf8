"""The e-archive system's channel: hand over one archive package, get a receipt (回执).

``POST {XIETONG_ARCHIVE_URL}/api/archive/packages`` with the gateway's signed headers
(``integrations/gateway.py``) and a JSON body — ``requestId`` (the outbound message id: one package is taken
once), ``archivalCode`` (档号), ``packageSm3``, ``package`` (base64 ZIP). The archive system runs its own
四性检测 on receipt and answers ``{"code": 0, "data": {"receiptNo", "receivedAt", "archivalCode",
"packageSm3", "checkPassed"}}``, or refuses a package that fails (HTTP 422, ``code`` 42201). A receipt that
names another package is refused. The message carries the package itself (``send`` runs with no database
transaction), so what is sent is exactly what was checked.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
from sqlalchemy.orm import Session

from xietong.config import Settings
from xietong.integrations.archive.service import CHANNEL, transferred
from xietong.integrations.channels import Outgoing, Refused, channel, reply_json
from xietong.integrations.gateway import signed_headers


def _configured(settings: Settings) -> bool:
    return bool(settings.archive_url and settings.archive_app_id and settings.archive_app_secret)


def _done(session: Session, message: Outgoing, reply: dict[str, Any]) -> None:
    transferred(session, message.payload["package_id"], reply["data"])


@channel(CHANNEL, label="电子档案系统", ordered=True, on_done=_done, configured=_configured)
def send(client: httpx.Client, message: Outgoing, settings: Settings) -> dict[str, Any]:
    assert settings.archive_url and settings.archive_app_id and settings.archive_app_secret
    package, digest = base64.b64decode(message.payload["package"]), message.payload["package_sm3"]
    body = json.dumps({"requestId": message.message_id, "archivalCode": message.payload["archival_code"],
                       "packageSm3": digest, "package": base64.b64encode(package).decode()}).encode()
    response = client.post(f"{settings.archive_url.rstrip('/')}/api/archive/packages", content=body,
                           headers=signed_headers(settings.archive_app_id, settings.archive_app_secret, body,
                                                  message.message_id))
    reply = reply_json(response)
    data = reply.get("data")
    if reply.get("code") != 0 or not isinstance(data, dict):
        raise Refused(f"电子档案系统拒收：{reply.get('code')} {reply.get('msg')}")
    if data.get("packageSm3") != digest or data.get("archivalCode") != message.payload["archival_code"]:
        raise Refused("回执所指不是所交的档案信息包")
    if not data.get("receiptNo"):
        raise Refused("回执缺少回执编号")
    return reply
