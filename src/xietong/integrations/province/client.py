"""The client of the provincial platform's exchange (``protocol.py``), and the ``province`` channel."""

from __future__ import annotations

import json
import secrets
import time
from datetime import date
from typing import Any

import httpx

from xietong.config import Settings
from xietong.integrations.channels import Outgoing, Refused, channel, reply_json
from xietong.integrations.province.protocol import OK, sign


class ProvinceClient:
    """Signed calls to the platform at ``base_url`` as application ``app_id``."""

    def __init__(self, http: httpx.Client, *, base_url: str, app_id: str, secret: str) -> None:
        self.http, self.base_url, self.app_id, self.secret = http, base_url.rstrip("/"), app_id, secret

    def _headers(self, body: bytes) -> dict[str, str]:
        timestamp, nonce = str(int(time.time() * 1000)), secrets.token_hex(8)
        return {
            "Content-Type": "application/json", "X-App-Id": self.app_id, "X-Timestamp": timestamp,
            "X-Nonce": nonce,
            "X-Signature": sign(self.secret, app_id=self.app_id, timestamp=timestamp, nonce=nonce, body=body),
        }

    def push(self, table: str, record: dict[str, Any], *, serial: str) -> dict[str, Any]:
        """Send one record; the platform's receipt. ``Refused`` when it refuses the record (with its errors)."""
        body = json.dumps({"serial": serial, "record": record}, ensure_ascii=False).encode()
        reply = reply_json(self.http.post(f"{self.base_url}/exchange/{table}", content=body,
                                          headers=self._headers(body)))
        if reply.get("code") != OK or not reply.get("receipt"):
            raise Refused(f"省平台拒收（{reply.get('code')}）：{reply.get('msg')} {reply.get('errors') or ''}")
        return reply

    def receipts(self, day: date) -> list[dict[str, Any]]:
        """The serials the platform confirms having received on ``day`` (its local date)."""
        response = self.http.get(f"{self.base_url}/exchange/receipts", params={"date": day.isoformat()},
                                 headers=self._headers(b""))
        reply = reply_json(response)
        items = reply.get("items")
        if reply.get("code") != OK or not isinstance(items, list):
            raise Refused(f"省平台对账应答无效：{str(reply)[:200]}")
        return items


def configured(settings: Settings) -> bool:
    return bool(settings.province_url and settings.province_app_id and settings.province_secret)


def client_for(http: httpx.Client, settings: Settings) -> ProvinceClient:
    assert settings.province_url and settings.province_app_id and settings.province_secret
    return ProvinceClient(http, base_url=settings.province_url, app_id=settings.province_app_id,
                          secret=settings.province_secret)


@channel("province", label="省政务服务平台办件上报", ordered=True, configured=configured)
def send(http: httpx.Client, message: Outgoing, settings: Settings) -> dict[str, Any]:
    return client_for(http, settings).push(message.payload["table"], message.payload["record"],
                                           serial=message.message_id)
