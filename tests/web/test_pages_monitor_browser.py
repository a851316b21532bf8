"""监管看板 in a real browser at desktop (1280×800) and phone (375×740) size, over a small demo county: the
ECharts charts really draw (a canvas in each), no CSP violation or script error, the definitions show on a tile,
the panel refreshes in place and redraws, and a tile drills down to its cases. Screenshots go to
docs/screenshots/{desktop,phone}-monitor.png."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import own_database
from tests.web.browser import SCREENSHOTS, VIEWPORTS, served
from xietong.config import Settings
from xietong.db import migrate
from xietong.db.engine import create_db_engine
from xietong.demo.load import load_demo
from xietong.demo.seed import DEMO_PASSWORD
from xietong.web.app import create_app

pytestmark = [pytest.mark.committed, pytest.mark.slow]
DAY = date(2026, 11, 25)  # the demo's history ends here, so the pictures are the same every day
PERIOD = "2026"
CHARTS = ("trend", "regions", "units", "steps")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp: Path = tmp_path_factory.mktemp("monitor-browser")
    with own_database("monitor_browser", tmp) as url:
        settings = Settings(database_url=url, data_dir=tmp, demo=True)
        engine = create_db_engine(settings)
        migrate.upgrade(engine)
        load_demo(engine, settings, cases=400, regions=["331121"], today=DAY, fork=False)
        engine.dispose()
        app = create_app(settings)
        with served(app) as base:
            yield base
        app.state.engine.dispose()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_dashboard_draws_its_charts_refreshes_and_drills_down(site: str, browser: Any, viewport: str) -> None:
    context = browser.new_context(viewport=VIEWPORTS[viewport], locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(30_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(site + "/login")
    page.fill("#username", "qingtian_supervisor")
    page.fill("#password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form.stack button[type=submit]")
    page.goto(f"{site}/monitor?period={PERIOD}")
    for name in CHARTS:
        page.wait_for_selector(f'[data-chart="{name}"][data-drawn] canvas', state="attached")
        box = page.locator(f'[data-chart="{name}"] canvas').first.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 200, name
    submitted = page.locator('[data-figure="submitted"] .tile-value').inner_text()
    assert int(submitted.replace(",", "")) > 0
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORTS[viewport]["width"], f"{width}px wide, scrolls sideways"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{viewport}-monitor.png"), full_page=viewport == "desktop")
    page.hover('[data-figure="on_time_rate"]')
    assert page.locator("#tip-on_time_rate").is_visible()
    assert "按时办结 ÷ 办结量" in page.locator("#tip-on_time_rate").inner_text()

    # the poll's request, made now: the panel is swapped in place and its charts drawn again
    before = page.locator(".as-of").inner_text()
    page.wait_for_timeout(1100)  # the as-of line shows seconds: let one pass so the new panel differs
    page.evaluate("""() => { const p = document.getElementById('monitor-panel');
        htmx.ajax('GET', p.getAttribute('hx-get'), {target: '#monitor-panel', swap: 'outerHTML'}); }""")
    page.wait_for_function("(b) => document.querySelector('.as-of').innerText !== b", arg=before)
    for name in CHARTS:
        page.wait_for_selector(f'[data-chart="{name}"][data-drawn] canvas', state="attached")

    page.click(".filter-box summary")  # the filters: another period, the charts drawn for it
    page.fill("#m-period", "2026Q3")
    with page.expect_navigation():
        page.click(".monitor-filters button[type=submit]")
    assert "period=2026Q3" in page.url and "2026年第3季度" in page.locator(".as-of").inner_text()
    page.wait_for_selector('[data-chart="trend"][data-drawn] canvas', state="attached")

    with page.expect_navigation():
        page.click('[data-figure="concluded"] a')
    assert "/monitor/cases?" in page.url and "figure=concluded" in page.url and "period=2026Q3" in page.url
    assert page.locator("table.data tbody tr").count() > 0
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
    assert not [p for p in problems if "favicon" not in p and "Failed to load resource" not in p], problems
    context.close()
