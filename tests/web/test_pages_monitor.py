"""监管看板 pages: the dashboard, its self-refreshing panel, the unit and matter pages and the drill-down lists —
against the API's figures for the same filters, over real cases; only supervisors see them."""

from __future__ import annotations

import json
import re
from io import BytesIO
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.web.conftest import Api, submit
from tests.web.page_client import page_login

TILE = re.compile(r'<li class="tile[^"]*" data-figure="(\w+)">\s*(?:<a href="([^"]+)"|<span tabindex)')
VALUE = re.compile(r'data-figure="(\w+)">.*?<span class="tile-value">([^<]+)</span>', re.S)


@pytest.fixture(scope="module")
def made(api: Api) -> dict[str, int]:
    """Three applications in the city: one accepted, two waiting."""
    clerk = api.login("finance.clerk.0")
    ids = [int(submit(clerk, api, title=f"看板测试 {i}")["id"]) for i in range(3)]  # type: ignore[call-overload]
    accepted = api.login("staffing.clerk.0").post(f"/api/v1/cases/{ids[0]}/accept")
    assert accepted.status_code == 200, accepted.text
    return {"first": ids[0], "second": ids[1], "third": ids[2]}


def _reform(api: Api) -> TestClient:
    return page_login(api, api.reform, htmx=False)


def _api_figures(api: Api, client: TestClient, period: str, **params: int) -> dict[str, object]:
    response = client.get("/api/v1/monitor/figures", params={"period": period, **params})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_the_dashboard_shows_the_apis_figures_with_definitions_and_drill_downs(api: Api, made: dict[str, int]) -> None:
    client, region = _reform(api), api.city.region.id
    page = client.get("/monitor", params={"region_id": region})
    assert page.status_code == 200, page.text
    period = re.search(r'id="m-period" name="period" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    expected = {c["key"]: c["value"] for c in _api_figures(api, client, period, region_id=region)["counts"]}
    values = {k: v for k, v in VALUE.findall(page.text)}
    assert expected["submitted"] >= 3 and values["submitted"] == f"{expected['submitted']:,}"
    assert values["accepted"] == f"{expected['accepted']:,}" and values["in_progress"] == f"{expected['in_progress']:,}"
    assert 'role="tooltip" id="tip-on_time_rate">按时办结率 = 按时办结 ÷ 办结量' in page.text
    links = dict(TILE.findall(page.text))
    drill = unquote(links["submitted"].replace("&amp;", "&"))
    assert parse_qs(urlsplit(drill).query) == {"period": [period], "region_id": [str(region)], "figure": ["submitted"]}
    listed = client.get(drill)
    assert listed.status_code == 200 and f'{expected["submitted"]} 件' in listed.text
    assert all(f'href="/cases/{i}"' in listed.text for i in made.values())
    accepted = client.get(unquote(links["accepted"].replace("&amp;", "&"))).text
    assert f'href="/cases/{made["first"]}"' in accepted and f'href="/cases/{made["second"]}"' not in accepted
    data = json.loads(re.search(r'<script type="application/json" id="monitor-data">(.*?)</script>', page.text,
                                re.S).group(1))  # type: ignore[union-attr]
    assert set(data) == {"trend", "regions", "units", "steps"}
    assert sum(b["submitted"] for b in data["trend"]) == expected["submitted"]  # the buckets add up to the period
    busiest = max(data["trend"], key=lambda b: b["submitted"])  # the chart's data is also a table of links
    assert f'<a href="{busiest["submitted_href"].replace("&", "&amp;")}">{busiest["submitted"]}</a>' in page.text
    bucket = client.get(busiest["submitted_href"]).text
    assert f'{busiest["submitted"]} 件' in bucket and f'href="/cases/{made["first"]}"' in bucket
    assert [r["name"] for r in data["regions"]] == [api.city.region.name]
    assert 'data-chart="trend"' in page.text and '/static/vendor/echarts/echarts.min.js' in page.text
    assert 'href="/monitor"' in page.text  # the nav offers 监管 to supervisors


def test_the_panel_refreshes_itself_as_a_fragment(api: Api, made: dict[str, int]) -> None:
    page = _reform(api).get("/monitor", params={"region_id": api.city.region.id}).text
    panel_url = re.search(r'hx-get="([^"]+)" hx-trigger="every 60s"', page).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    assert panel_url.startswith("/monitor/panel?") and f"region_id={api.city.region.id}" in panel_url
    fragment = _reform(api).get(panel_url, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment.text.lstrip().startswith('<div id="monitor-panel"') and "monitor-data" in fragment.text


def test_unit_and_matter_pages_fix_their_filter(api: Api, made: dict[str, int]) -> None:
    client = _reform(api)
    unit = api.city.units["staffing"]
    page = client.get(f"/monitor/units/{unit.id}")
    assert page.status_code == 200 and f"单位监管：{unit.name}" in page.text
    period = re.search(r'id="m-period" name="period" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    expected = {c["key"]: c["value"] for c in _api_figures(api, client, period, unit_id=unit.id)["counts"]}
    assert dict(VALUE.findall(page.text))["submitted"] == f"{expected['submitted']:,}" and expected["submitted"] >= 3
    assert 'id="m-unit"' not in page.text  # the unit is the page's, not a choice
    assert f"unit_id={unit.id}" in page.text  # the drill-downs and exports keep it
    matter = client.get(f"/monitor/matters/{api.matter_id}")
    assert matter.status_code == 200 and "事项监管：" in matter.text and 'id="m-matter"' not in matter.text
    by_matter = {c["key"]: c["value"] for c in
                 _api_figures(api, client, period, local_matter_id=api.matter_id)["counts"]}
    assert dict(VALUE.findall(matter.text))["submitted"] == f"{by_matter['submitted']:,}"
    assert client.get("/monitor/units/999999999").status_code == 404


def test_exports_and_the_bulletin_from_the_page_open(api: Api, made: dict[str, int]) -> None:
    client = _reform(api)
    page = client.get("/monitor", params={"region_id": api.city.region.id}).text
    hrefs = [h.replace("&amp;", "&") for h in re.findall(r'href="(/api/v1/monitor/export/[^"]+)"', page)]
    assert len(hrefs) == 6
    units = client.get(next(h for h in hrefs if "/units.xlsx" in h))
    assert units.status_code == 200
    sheet = load_workbook(BytesIO(units.content)).active
    assert sheet is not None and sheet.max_row >= 2
    period = re.search(r'name="period" value="([^"]+)">\s*<input type="hidden" name="region_id"', page).group(1)  # type: ignore[union-attr]
    pdf = client.get("/api/v1/monitor/bulletin", params={"period": period, "region_id": api.city.region.id,
                                                          "format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_only_supervisors_see_it_and_bad_filters_are_explained(api: Api) -> None:
    clerk = page_login(api, "finance.clerk.0", htmx=False)
    refused = clerk.get("/monitor")
    assert refused.status_code == 403 and "监管角色" in refused.text
    assert clerk.get("/monitor/cases", params={"figure": "submitted"}).status_code == 403
    assert 'href="/monitor"' not in clerk.get("/workbench").text
    client = _reform(api)
    bad = client.get("/monitor", params={"period": "明年"})
    assert bad.status_code == 422 and "无法识别" in bad.text
    assert client.get("/monitor", params={"region_id": "x"}).status_code == 422
    assert client.get("/monitor/cases", params={"figure": "nope"}).status_code == 422
