# ruff: noqa: E402  (the imports below need sys.path set first)
"""Page benchmark: how long the main pages take over the demo city (~37,000 cases), rendered in-process.

Logs in as the demo's named people and times each page (workbench tabs with their counts, the matter hall,
a case page, the wizard) over several rounds; prints the median and the slowest round in milliseconds.
Uses an existing demo data directory, or builds one in a temporary directory first (~30–40 s).

    python bench/pages.py --data-dir xietong-data      # the database `xietong serve --demo` made
    python bench/pages.py                              # build a fresh demo first
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

# Run as a script, this file's folder comes first on sys.path, and bench/http.py would hide the standard ``http``.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xietong.config import Settings
from xietong.db import migrate
from xietong.db.engine import create_db_engine
from xietong.demo.load import load_demo
from xietong.demo.seed import DEMO_PASSWORD
from xietong.web.app import create_app

PEOPLE = ("lishui_fin_chief", "lishui_bb_clerk", "reform", "qingtian_supervisor")
TABS = ("todo", "incoming", "done", "copied", "mine", "orders")


def _timed(client: TestClient, url: str, rounds: int) -> tuple[float, float, str]:
    times, body = [], ""
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        body = response.text
    return statistics.median(times), max(times), body


def run(settings: Settings, rounds: int) -> None:
    app = create_app(settings)
    print(f"{'person':<22}{'page':<34}{'median ms':>10}{'max ms':>9}")
    with TestClient(app) as client:
        for username in PEOPLE:
            client.cookies.clear()
            login = client.post("/login", data={"username": username, "password": DEMO_PASSWORD},
                                follow_redirects=False)
            assert login.status_code == 303, login.text
            urls = [f"/workbench?tab={tab}" for tab in TABS] + ["/matters", "/matters?keyword=资金", "/notifications"]
            _, _, todo = _timed(client, "/workbench?tab=todo", 1)
            _, _, mine = _timed(client, "/workbench?tab=mine", 1)
            case = re.search(r'href="(/cases/\d+)"', todo + mine)
            if case:
                urls.append(case.group(1))
            matter = re.search(r'href="(/matters/\d+)"', _timed(client, "/matters", 1)[2])
            if matter:
                urls += [matter.group(1), matter.group(1) + "/apply"]
            for url in urls:
                median, slowest, _ = _timed(client, url, rounds)
                print(f"{username:<22}{url:<34}{median:>10.1f}{slowest:>9.1f}")
    app.state.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, help="an existing demo data directory (else one is built)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.data_dir:
        run(Settings(data_dir=args.data_dir, demo=True), args.rounds)
        return
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), demo=True)
        engine = create_db_engine(settings)
        migrate.upgrade(engine)
        load_demo(engine, settings)
        engine.dispose()
        run(settings, args.rounds)


if __name__ == "__main__":
    main()
