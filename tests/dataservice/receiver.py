"""A real webhook receiver on loopback (http.server in a thread, port 0) that verifies signatures as documented.

``behaviour`` decides each answer: ``ok`` (204), ``fail`` (503), ``slow`` (answers after ``delay`` seconds),
``garbage`` (a malformed status line). ``stop()`` and ``start()`` take it down and bring it back on the same port.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from xietong.dataservice.signing import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify


@dataclass
class Received:
    delivery_id: int
    event_id: int
    case_id: int
    position: int
    type: str
    attempt: int
    arrived: float = 0.0  # time.time() on arrival (the benchmark's lag)


@dataclass
class Receiver:
    secret: str = ""
    behaviour: str = "ok"
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)  # verified and accepted, in arrival order
    refused: int = 0  # bad signatures
    answered: int = 0  # every request, whatever the answer
    port: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.handle(self, body)

            def log_message(self, *_args: Any) -> None:
                return

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def handle(self, request: BaseHTTPRequestHandler, body: bytes) -> None:
        with self._lock:
            self.answered += 1
        if self.behaviour == "slow":
            time.sleep(self.delay)
        if self.behaviour == "garbage":
            request.wfile.write(b"NOT HTTP AT ALL\r\n\r\n")
            return
        if self.behaviour == "fail":
            self._answer(request, 503)
            return
        ok = verify(self.secret, timestamp=request.headers.get(TIMESTAMP_HEADER, ""),
                    signature=request.headers.get(SIGNATURE_HEADER, ""), body=body, now=time.time())
        if not ok:
            with self._lock:
                self.refused += 1
            self._answer(request, 401)
            return
        payload = json.loads(body)
        event = payload["event"]
        assert int(request.headers[DELIVERY_HEADER]) == payload["delivery_id"]
        with self._lock:
            self.received.append(Received(payload["delivery_id"], event["id"], event["case_id"], event["position"],
                                          event["type"], payload["attempt"], time.time()))
        if self.delay and self.behaviour == "ok":
            time.sleep(self.delay)
        self._answer(request, 204)

    @staticmethod
    def _answer(request: BaseHTTPRequestHandler, status: int) -> None:
        request.send_response(status)
        request.send_header("Content-Length", "0")
        request.end_headers()

    def unique_events(self) -> list[int]:
        """Event ids in first-arrival order, duplicates dropped (what a de-duplicating receiver keeps)."""
        seen: dict[int, None] = {}
        for r in self.received:
            seen.setdefault(r.event_id, None)
        return list(seen)
