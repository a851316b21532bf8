"""Browser-test plumbing: the app served by a real uvicorn on a loopback port, and Debian's chromium driven by
Playwright. Without a browser the tests skip locally and FAIL in CI (``CI=true``)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

CHROMIUM = os.environ.get("XIETONG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 740}}


def missing_browser(reason: str) -> None:
    """No browser here: a local run skips, CI fails (the browser tests must never silently not run there)."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"浏览器测试无法运行：{reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    """A loopback port nobody listens on now (for an app that must know its own port before it is served)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(app: FastAPI, port: int = 0) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a loopback port (a free one by default); yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        missing_browser(f"没有找到 chromium（{CHROMIUM}）：apt-get install -y chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_browser("没有安装 playwright：pip install -e '.[test]'")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def htmx_settled(page: Any, path_end: str) -> Iterator[None]:
    """On leaving, wait until htmx has swapped in and settled the answer to the request (to a URL ending in
    ``path_end``) that the block's action started — an earlier request in flight (a live preview, say) must not
    pass for it, and the next action must not type into a form the answer is about to replace."""
    page.evaluate("""(pathEnd) => {
        window.__htmxSettled = false;
        const on = (event) => {
            const url = (event.detail.xhr && event.detail.xhr.responseURL || '').split('?')[0];
            if (url.endsWith(pathEnd)) {
                window.__htmxSettled = true;
                document.removeEventListener('htmx:afterSettle', on);
            }
        };
        document.addEventListener('htmx:afterSettle', on);
    }""", path_end)
    yield
    page.wait_for_function("() => window.__htmxSettled === true")
