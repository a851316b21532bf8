"""Stand-in of the provincial service platform's 办件 exchange, speaking ``integrations/province/protocol.py``.

It checks what the real platform checks: the app id, the timestamp window, a nonce used once, the HMAC signature,
the table, every field of the record, and that a case's acceptance arrived before anything else of it. A serial
it has seen gets its first receipt back and changes nothing. ``down = True`` makes it answer 503.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from xietong.integrations.province.protocol import OK, TABLES, TIMESTAMP_WINDOW_MS, problems, sign
from xietong.standins import STANDINS, StandIn

TZ = ZoneInfo("Asia/Shanghai")
DEMO_APP_ID, DEMO_SECRET = "xietong-demo", "demo-province-exchange-secret"


@dataclass
class Received:
    serial: str
    table: str
    record: dict[str, Any]
    receipt: str
    day: str


@dataclass
class ProvincePlatform:
    app_id: str = DEMO_APP_ID
    secret: str = DEMO_SECRET
    down: bool = False
    received: dict[str, Received] = field(default_factory=dict)  # by serial, first arrival only
    accepted: set[str] = field(default_factory=set)  # PROJIDs whose acceptance arrived
    duplicates: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)
    nonces: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _refuse(self, status: int, code: str, msg: str, errors: list[dict[str, str]] | None = None) -> JSONResponse:
        self.refused.append({"code": code, "msg": msg, "errors": errors or []})
        return JSONResponse({"code": code, "msg": msg, "errors": errors or []}, status_code=status)

    def _check_signature(self, request: Request, body: bytes) -> JSONResponse | None:
        headers = request.headers
        app_id, timestamp, nonce = headers.get("x-app-id", ""), headers.get("x-timestamp", ""), headers.get(
            "x-nonce", "")
        if app_id != self.app_id:
            return self._refuse(401, "1001", "应用标识无效")
        if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > TIMESTAMP_WINDOW_MS:
            return self._refuse(401, "1001", "时间戳超出允许范围")
        expected = sign(self.secret, app_id=app_id, timestamp=timestamp, nonce=nonce, body=body)
        if not hmac.compare_digest(expected, headers.get("x-signature", "")):
            return self._refuse(401, "1001", "签名验证失败")
        if not nonce or nonce in self.nonces:
            return self._refuse(401, "1002", "请求已被使用（nonce 重复）")
        self.nonces.add(nonce)
        return None

    def app(self) -> FastAPI:
        app = FastAPI(title="省政务服务平台办件交换（本地替身）", openapi_url=None)
        app.state.platform = self

        @app.post("/exchange/{table}")
        async def exchange(table: str, request: Request) -> JSONResponse:
            body = await request.body()
            with self.lock:
                if self.down:
                    return JSONResponse({"code": "9999", "msg": "系统维护中"}, status_code=503)
                refused = self._check_signature(request, body)
                if refused is not None:
                    return refused
                if table not in TABLES:
                    return self._refuse(404, "1004", f"未知的交换表 {table}")
                try:
                    data = json.loads(body)
                    serial, record = str(data["serial"]), data["record"]
                    if not isinstance(record, dict) or not serial:
                        raise ValueError
                except (ValueError, KeyError, TypeError):
                    return self._refuse(400, "1000", "报文格式错误")
                if serial in self.received:
                    self.duplicates += 1
                    return JSONResponse({"code": OK, "msg": "重复报送，已忽略", "receipt":
                                         self.received[serial].receipt, "duplicate": True})
                errors = problems(table, record)
                if errors:
                    return self._refuse(422, "1003", "字段校验不通过", errors)
                projid = str(record["PROJID"])
                if table == "up_pro_accept":
                    self.accepted.add(projid)
                elif projid not in self.accepted:
                    return self._refuse(422, "1005", "办件尚未报送受理信息")
                receipt = "SZ" + hashlib.sha256(serial.encode()).hexdigest()[:16].upper()
                self.received[serial] = Received(serial, table, record, receipt,
                                                 datetime.now(TZ).date().isoformat())
                return JSONResponse({"code": OK, "msg": "接收成功", "receipt": receipt})

        @app.get("/exchange/receipts")
        async def receipts(request: Request, date: str) -> JSONResponse:
            with self.lock:
                if self.down:
                    return JSONResponse({"code": "9999", "msg": "系统维护中"}, status_code=503)
                refused = self._check_signature(request, b"")
                if refused is not None:
                    return refused
                items = [{"serial": r.serial, "table": r.table, "projid": r.record.get("PROJID"),
                          "receipt": r.receipt} for r in self.received.values() if r.day == date]
                return JSONResponse({"code": OK, "items": items})

        return app


STANDINS["province"] = StandIn(
    "province",
    make_app=lambda: ProvincePlatform().app(),
    settings_for=lambda url: {"province_url": url, "province_app_id": DEMO_APP_ID, "province_secret": DEMO_SECRET},
)
