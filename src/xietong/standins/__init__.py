"""Local stand-ins for the outside systems xietong connects to (messaging, identity provider, e-seal service,
e-archive, provincial platform, OA).

Each stand-in is a small web app that speaks the real system's protocol as documented — it verifies signatures
and refuses malformed calls the way the real one would — and keeps what it received in memory so a test or a
demo visitor can look. The tests run one on a loopback port (``serve_in_thread``); ``serve --demo`` mounts every
registered stand-in under ``/standins/<name>/`` of its own server and points the adapters there
(``with_demo_standins``). They are not part of the product's API and never run outside demo mode or tests.

A stand-in registers itself with ``STANDINS[name] = StandIn(...)`` in ``standins/<name>.py`` and is imported in
``standins/installed.py``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI

from xietong.config import Settings


@dataclass(frozen=True)
class StandIn:
    """``make_app()`` builds a fresh stand-in; ``settings_for(base_url)`` are the settings pointing xietong at it."""

    name: str
    make_app: Callable[[], FastAPI]
    settings_for: Callable[[str], dict[str, Any]]


STANDINS: dict[str, StandIn] = {}


def with_demo_standins(app: FastAPI, settings: Settings) -> Settings:
    """Mount every stand-in under ``/standins/<name>`` of ``app``; the settings that point the adapters there."""
    from xietong.standins import installed  # noqa: F401  (registers the stand-ins)

    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    updates: dict[str, Any] = {}
    for name, standin in sorted(STANDINS.items()):
        app.mount(f"/standins/{name}", standin.make_app())
        updates.update(standin.settings_for(f"http://{host}:{settings.port}/standins/{name}"))
    return settings.model_copy(update=updates)


@dataclass
class Running:
    """A stand-in serving on a loopback port in a thread of this process."""

    url: str
    app: FastAPI
    server: uvicorn.Server
    thread: threading.Thread

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve_in_thread(app: FastAPI, *, host: str = "127.0.0.1") -> Running:
    """Serve ``app`` over real HTTP on a free loopback port until ``close()``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="standin", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("stand-in server did not start")
        time.sleep(0.01)
    return Running(f"http://{host}:{port}", app, server, thread)
