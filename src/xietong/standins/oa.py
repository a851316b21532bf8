"""Stand-in of the OA system's side of the 公文交换 (``integrations/oa/protocol.py``).

It receives xietong's results and refusals — checking the app id, the timestamp window and the signature, and
taking each ``message_id`` once — and it sends documents to xietong the way the real OA does
(``send_document``). ``down = True`` makes it answer 503, as an OA paused for maintenance would.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from xietong.integrations.oa.protocol import APP_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signed_headers, verify
from xietong.standins import STANDINS, StandIn

DEMO_APP_ID, DEMO_SECRET = "xietong-oa-demo", "demo-oa-exchange-secret"


@dataclass
class OaSystem:
    app_id: str = DEMO_APP_ID
    secret: str = DEMO_SECRET
    down: bool = False
    received: dict[str, dict[str, Any]] = field(default_factory=dict)  # by message id, first arrival only
    duplicates: int = 0
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> FastAPI:
        app = FastAPI(title="OA 公文交换（本地替身）", openapi_url=None)
        app.state.oa = self

        @app.post("/documents/receive")
        async def receive(request: Request) -> JSONResponse:
            body = await request.body()
            with self.lock:
                if self.down:
                    return JSONResponse({"ok": False, "message": "OA 系统维护中"}, status_code=503)
                refusal = verify(self.secret, app_id=request.headers.get(APP_HEADER, ""), expected_app_id=self.app_id,
                                 timestamp=request.headers.get(TIMESTAMP_HEADER, ""),
                                 signature=request.headers.get(SIGNATURE_HEADER, ""), body=body)
                if refusal is not None:
                    self.refused.append(refusal)
                    return JSONResponse({"ok": False, "message": refusal}, status_code=401)
                try:
                    data = json.loads(body)
                    message_id, reply_to = str(data["message_id"]), str(data["reply_to"])
                    if data.get("kind") not in ("result", "declined"):
                        raise ValueError
                except (ValueError, KeyError, TypeError):
                    self.refused.append("报文格式错误")
                    return JSONResponse({"ok": False, "message": "报文格式错误"}, status_code=400)
                if message_id in self.received:
                    self.duplicates += 1
                else:
                    self.received[message_id] = data
                return JSONResponse({"ok": True, "oa_doc_id": f"OA-IN-{reply_to}"})

        return app

    def send_document(self, xietong_url: str, document: dict[str, Any], *, secret: str | None = None
                      ) -> httpx.Response:
        """Send one document to xietong's ``/api/v1/oa/documents``, signed as the real OA signs."""
        body = json.dumps(document, ensure_ascii=False).encode()
        headers = signed_headers(secret or self.secret, self.app_id, body)
        return httpx.post(f"{xietong_url.rstrip('/')}/api/v1/oa/documents", content=body, headers=headers,
                          timeout=10)


STANDINS["oa"] = StandIn(
    "oa",
    make_app=lambda: OaSystem().app(),
    settings_for=lambda url: {"oa_url": url, "oa_app_id": DEMO_APP_ID, "oa_secret": DEMO_SECRET},
)
