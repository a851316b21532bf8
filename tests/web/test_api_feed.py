"""The change feed and the exports over HTTP: commit order, resumable cursors, visibility, the three formats."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from tests.web.clients_helpers import oauth_client, register
from tests.web.conftest import Api, submit
from xietong.cases.changelog import sequence_events
from xietong.db.session import unit_of_work


def _sequence(api: Api) -> None:
    with unit_of_work(api.app.state.engine) as session:
        sequence_events(session)


def _all_changes(client, after: str, limit: int = 2) -> tuple[list[dict], str]:  # type: ignore[no-untyped-def]
    items: list[dict] = []  # type: ignore[type-arg]
    while True:
        page = client.get("/api/v1/events", params={"after": after, "limit": limit})
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        after = body["next_cursor"]
        if not body["has_more"]:
            return items, after


def test_a_reader_pages_through_every_change_and_resumes_without_gaps_or_repeats(api: Api) -> None:
    client = oauth_client(api, register(api, units=("finance",), scopes=("cases:read",)))
    _sequence(api)
    _, cursor = _all_changes(client, "0", limit=500)  # catch up with whatever came before
    clerk = api.login("finance.clerk.0")
    first = [submit(clerk, api, title=f"第一批{i}")["id"] for i in range(3)]
    _sequence(api)
    seen, cursor = _all_changes(client, cursor)
    assert [c["case_id"] for c in seen] == first
    positions = [c["position"] for c in seen]
    assert positions == sorted(positions) and len(set(positions)) == 3
    # the outage: changes keep coming while the reader is away; it resumes from its cursor
    second = [submit(clerk, api, title=f"第二批{i}")["id"] for i in range(3)]
    assert client.get("/api/v1/events", params={"after": cursor}).json()["items"] == []  # not yet sequenced
    _sequence(api)
    resumed, cursor = _all_changes(client, cursor)
    assert [c["case_id"] for c in resumed] == second
    assert {c["type"] for c in resumed} == {"case.submitted"}
    assert client.get("/api/v1/events", params={"after": cursor}).json() == {
        "items": [], "next_cursor": cursor, "has_more": False
    }


def test_the_feed_shows_only_the_cases_a_reader_may_read(api: Api) -> None:
    outsider = oauth_client(api, register(api, units=("big_data",), scopes=("cases:read",)))
    _sequence(api)
    _, cursor = _all_changes(outsider, "0", limit=500)
    submit(api.login("finance.clerk.0"), api, title="与大数据局无关")
    _sequence(api)
    assert outsider.get("/api/v1/events", params={"after": cursor}).json()["items"] == []


def test_a_bad_cursor_is_a_422_problem(api: Api) -> None:
    client = api.login(api.reform)
    answer = client.get("/api/v1/events", params={"after": "abc"})
    assert answer.status_code == 422 and answer.json()["code"] == "bad_cursor"


def test_the_four_libraries_export_as_json_csv_and_xlsx(api: Api) -> None:
    client = oauth_client(api, register(api, units=("finance",), scopes=("cases:read",)))
    case = submit(api.login("finance.clerk.0"), api, title="导出用")
    cases = client.get("/api/v1/export/cases.json")
    assert cases.status_code == 200, cases.text
    numbers = {c["number"] for c in cases.json()["items"]}
    assert case["number"] in numbers
    units = client.get("/api/v1/export/units.csv")
    assert units.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(units.content.decode("utf-8-sig"))))
    assert api.city.units["finance"].code in {r["code"] for r in rows}
    people = client.get("/api/v1/export/people.xlsx")
    sheet = load_workbook(io.BytesIO(people.content), read_only=True).worksheets[0]
    header = next(sheet.iter_rows(values_only=True))
    assert "username" in header and "phone" not in header
    matters = client.get("/api/v1/export/matters.json").json()["items"]
    assert api.matter_id in {m["id"] for m in matters}
    assert client.get("/api/v1/export/secrets.json").status_code == 422
    assert client.get("/api/v1/export/cases.pdf").status_code == 422
    assert api.login("finance.clerk.0").get("/api/v1/export/people.json").status_code == 403
