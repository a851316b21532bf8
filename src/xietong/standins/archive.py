"""Stand-in for the e-archive system (``integrations/archive/client.py`` documents the protocol).

It checks the gateway signature, refuses a body whose ``packageSm3`` is not the package's, runs its own
四性检测 on every package (as an archive system must on receipt) and refuses one that fails, takes each
``requestId`` once (a repeated request gets the first receipt) and keeps what it took in memory.
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

from xietong.integrations.archive.check import four_checks
from xietong.integrations.seal import sm2
from xietong.standins import STANDINS, StandIn
from xietong.standins.gatewayed import refuse, signed_body

APP_ID = "xietong"
APP_SECRET = "archive-standin-secret-0123456789abcdef"


@dataclass
class ArchiveSystem:
    apps: dict[str, str] = field(default_factory=lambda: {APP_ID: APP_SECRET})
    taken: dict[str, dict[str, Any]] = field(default_factory=dict)  # request id → the receipt given
    packages: dict[str, bytes] = field(default_factory=dict)  # archival code → package
    nonces: set[str] = field(default_factory=set)
    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def make_app(system: ArchiveSystem | None = None) -> FastAPI:
    system = system or ArchiveSystem()
    app = FastAPI(title="电子档案系统（替身）")
    app.state.system = system

    @app.post("/api/archive/packages")
    async def take(request: Request) -> JSONResponse:
        raw = await request.body()
        with system.lock:
            system.calls += 1
            body = signed_body(request.headers, raw, system.apps, system.nonces)
            if isinstance(body, JSONResponse):
                return body
            try:
                request_id, code = body["requestId"], body["archivalCode"]
                package = base64.b64decode(body["package"], validate=True)
            except (ValueError, KeyError, TypeError, binascii.Error):
                return refuse(400, 40001, "请求格式错误")
            if request_id in system.taken:
                return JSONResponse(system.taken[request_id])
            if body.get("packageSm3") != sm2.sm3(package):
                return refuse(400, 40002, "信息包摘要不符")
            report = four_checks(package)
            if not report["passed"]:
                failed = [i["detail"] for c in report["checks"].values() for i in c["items"] if not i["passed"]]
                return refuse(422, 42201, "四性检测未通过", failed=failed)
            receipt = {"code": 0, "msg": "接收成功", "data": {
                "receiptNo": f"HZ{len(system.taken) + 1:08d}", "receivedAt": datetime.now(UTC).isoformat(),
                "archivalCode": code, "packageSm3": report["package_sm3"], "checkPassed": True,
            }}
            system.taken[request_id] = receipt
            system.packages[code] = package
            return JSONResponse(receipt)

    return app


def settings_for(base_url: str) -> dict[str, Any]:
    return {"archive_url": base_url, "archive_app_id": APP_ID, "archive_app_secret": APP_SECRET}


STANDINS["archive"] = StandIn("archive", make_app, settings_for)
