"""The dashboard's unit ranking, per historical unit or 按改革后单位合并 after a merge (a link switches), and the
.xlsx export and bulletin that fold the same way."""

from __future__ import annotations

import re
from io import BytesIO
from typing import Any

from openpyxl import load_workbook

from tests.web.conftest import Api, submit
from tests.web.page_client import page_login


def test_the_ranking_folds_merged_units_into_their_successor_on_request(api: Api) -> None:
    applicant, handler = api.login("finance.clerk.0"), api.login("staffing.clerk.0")
    refused, moved = (int(submit(applicant, api, title=f"改革看板 {i}")["id"]) for i in range(2))  # type: ignore[call-overload]
    assert handler.post(f"/api/v1/cases/{refused}/reject", json={"reason": "不属于本单位职责"}).status_code == 204
    assert handler.post(f"/api/v1/cases/{moved}/accept").status_code == 200
    staffing, office = api.city.units["staffing"], api.city.units["office"]
    body = {"kind": "merge", "units": [staffing.code, office.code], "reason": "编委〔2026〕3号",
            "successor": {"code": f"{api.city.region.code}.monmerged", "name": "综合编制局"}}
    assert api.login(api.admin).post("/api/v1/directory/reorganisations", json=body).status_code == 200

    reform = page_login(api, api.reform, htmx=False)
    # the county's own ranking: over the whole shared test database its units need not be among the rows shown
    apart = reform.get(f"/monitor?region_id={api.city.region.id}")
    assert apart.status_code == 200
    assert staffing.name in apart.text and "综合编制局" in apart.text  # the rejected case stays with its unit
    link = re.search(r'<a href="([^"]+)" id="m-fold">按改革后单位合并', apart.text)
    assert link and "fold=1" in link.group(1)
    together = reform.get(link.group(1).replace("&amp;", "&"))
    assert together.status_code == 200 and "单位排名（按改革后单位合并）" in together.text
    assert re.search(r"综合编制局</a><span class=\"meta\">（含[^<]*" + re.escape(staffing.name), together.text)
    assert 'id="m-fold">按历史单位分列' in together.text
    # the exports and the bulletin the folded page links to fold too
    assert "fold=true" in together.text
    period = re.search(r'name="period" value="([^"]+)"', together.text)
    assert period is not None
    query = f"period={period.group(1)}&region_id={api.city.region.id}"
    folded = reform.get(f"/api/v1/monitor/export/units.xlsx?{query}&fold=true")
    assert folded.status_code == 200
    rows = rows_of(folded.content)
    assert any("综合编制局（含" in row and staffing.name in row for row in rows)
    apart_rows = sheet_rows_text(reform, f"/api/v1/monitor/export/units.xlsx?{query}")
    assert not any("综合编制局（含" in row for row in apart_rows)
    bulletin = reform.get(f"/api/v1/monitor/bulletin?{query}&format=xlsx&fold=true")
    assert bulletin.status_code == 200
    assert any("综合编制局（含" in row for row in rows_of(bulletin.content))


def rows_of(data: bytes) -> list[str]:
    book = load_workbook(BytesIO(data), read_only=True)
    return [" ".join(str(c) for c in row if c is not None) for sheet in book.worksheets for row in sheet.values]


def sheet_rows_text(client: Any, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200
    return rows_of(response.content)
