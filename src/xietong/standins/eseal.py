"""Stand-in for the provincial e-seal service (``integrations/seal/provincial.py`` documents the protocol).

It checks the gateway signature (``integrations/gateway.py``: HMAC-SM3, timestamp window, nonce), refuses a
body whose ``fileHash`` is not the SM3 of ``fileData`` or whose file is not a PDF, seals each ``requestId``
once (a repeated request gets the first answer), and holds one SM2 seal per ``sealCode`` as the real service
holds the units' seals.
"""

from __future__ import annotations

import base64
import binascii
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from xietong.integrations.seal import envelope, sm2
from xietong.integrations.seal.image import seal_png
from xietong.standins import STANDINS, StandIn
from xietong.standins.gatewayed import refuse, signed_body

APP_ID = "xietong"
APP_SECRET = "eseal-standin-secret-0123456789abcdef"


@dataclass
class ESealService:
    """What the service holds: its apps' secrets, its seals, and every request it sealed (by request id)."""

    apps: dict[str, str] = field(default_factory=lambda: {APP_ID: APP_SECRET})
    seals: dict[str, tuple[str, str]] = field(default_factory=dict)  # seal code → (private, public)
    sealed: dict[str, dict[str, Any]] = field(default_factory=dict)  # request id → the answer given
    nonces: set[str] = field(default_factory=set)
    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seal(self, request_id: str, body: dict[str, Any], pdf: bytes) -> dict[str, Any]:
        private, public = self.seals.setdefault(body["sealCode"], sm2.new_key_pair())
        info = {"esID": f"PROV-{body['sealCode']}",
                "property": {"type": 1, "name": f"{body.get('unitName', '')}电子印章", "holder": body.get("unitName"),
                             "cert": public},
                "picture": {"type": "png", "data": base64.b64encode(seal_png()).decode(), "width": 40, "height": 40}}
        tbs = envelope.to_sign(seal=info, time_info=datetime.now(UTC).isoformat(), data=pdf,
                               property_info={"number": body.get("docNumber"), "file": body.get("fileName")},
                               signer={"service": "省电子印章系统（替身）", "unit": body.get("unitName")},
                               provider="provincial")
        signed = envelope.embed(pdf, envelope.signature_of(tbs, private, public))
        return {"code": 0, "msg": "成功", "data": {"requestId": request_id,
                                                  "signedFile": base64.b64encode(signed).decode()}}


def make_app(service: ESealService | None = None) -> FastAPI:
    service = service or ESealService()
    app = FastAPI(title="省电子印章系统（替身）")
    app.state.service = service

    @app.post("/api/seal/sign")
    async def sign(request: Request) -> JSONResponse:
        raw = await request.body()
        with service.lock:
            service.calls += 1
            body = signed_body(request.headers, raw, service.apps, service.nonces)
            if isinstance(body, JSONResponse):
                return body
            try:
                request_id = body["requestId"]
                pdf = base64.b64decode(body["fileData"], validate=True)
                if not isinstance(body["sealCode"], str) or not body["sealCode"]:
                    raise ValueError("sealCode")
            except (ValueError, KeyError, TypeError, binascii.Error):
                return refuse(400, 40001, "请求格式错误")
            if request_id in service.sealed:  # the same request again (a lost answer): the first answer
                return JSONResponse(service.sealed[request_id])
            if body.get("fileHash") != sm2.sm3(pdf):
                return refuse(400, 40002, "文件摘要不符")
            if not pdf.startswith(b"%PDF-"):
                return refuse(400, 40003, "只能对 PDF 文件签章")
            answer = service.seal(request_id, body, pdf)
            service.sealed[request_id] = answer
            return JSONResponse(answer)

    return app


def settings_for(base_url: str) -> dict[str, Any]:
    return {"eseal_url": base_url, "eseal_app_id": APP_ID, "eseal_app_secret": APP_SECRET}


STANDINS["eseal"] = StandIn("eseal", make_app, settings_for)
