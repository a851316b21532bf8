"""/api/v1/monitor over real HTTP: a committed quarter in a database of its own, read by its supervisors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.conftest import own_database
from tests.monitor.conftest import Quarter, build_quarter
from xietong.config import Settings
from xietong.db import migrate
from xietong.db.engine import create_db_engine
from xietong.db.session import unit_of_work
from xietong.security.models import Credential
from xietong.security.passwords import hash_password
from xietong.web.app import create_app

PASSWORD = "Xietong-2026!"


@dataclass
class Served:
    quarter: Quarter
    usernames: dict[str, str]
    client: TestClient

    def login(self, who: str) -> TestClient:
        client = TestClient(self.client.app)
        response = client.post("/api/v1/auth/login", json={"username": self.usernames[who], "password": PASSWORD})
        assert response.status_code == 200, response.text
        return client


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("monitor-api")
    with own_database("monitor_api", tmp) as url:
        settings = Settings(database_url=url, data_dir=tmp, demo=True,
                            secret_key="test-secret-key-that-is-long-enough-0123456789")
        engine = create_db_engine(settings)
        migrate.upgrade(engine)
        from xietong.directory.models import Person

        with unit_of_work(engine) as session:
            quarter = build_quarter(session)
            people = {"supervisor": quarter.supervisor.id, "reform": quarter.reform.id,
                      "handler": quarter.city.person("staffing", "clerk").id}
            password = hash_password(PASSWORD)
            session.add_all(Credential(person_id=p, password_hash=password, must_change=False)
                            for p in people.values())
            usernames = {k: session.get(Person, p).username for k, p in people.items()}  # type: ignore[union-attr]
        engine.dispose()
        app = create_app(settings)
        yield Served(quarter, usernames, TestClient(app))
        app.state.engine.dispose()


def test_figures_ranking_and_drilldown_agree_over_http(served: Served) -> None:
    client = served.login("supervisor")
    response = client.get("/api/v1/monitor/figures", params={"period": "2026Q3"})
    assert response.status_code == 200, response.text
    counts = {c["key"]: c["value"] for c in response.json()["counts"]}
    assert (counts["submitted"], counts["concluded"], counts["on_time"], counts["overdue_now"]) == (8, 4, 3, 1)
    page = client.get("/api/v1/monitor/cases", params={"period": "2026Q3", "figure": "on_time", "with_total": True})
    assert page.json()["total"] == 3 and len(page.json()["items"]) == 3
    ranked = client.get("/api/v1/monitor/ranking", params={"period": "2026Q3", "by": "unit"}).json()
    assert [r["rank"] for r in ranked["rows"]] == [1, 2]
    for path in ("cards", "bottlenecks", "reductions"):
        assert client.get(f"/api/v1/monitor/{path}", params={"period": "2026Q3"}).status_code == 200


def test_the_export_is_the_api_s_table(served: Served) -> None:
    client = served.login("reform")
    params = {"period": "2026Q3", "by": "region"}
    api = client.get("/api/v1/monitor/ranking", params=params).json()
    response = client.get("/api/v1/monitor/export/regions.xlsx", params={"period": "2026Q3"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(BytesIO(response.content)).worksheets[0].iter_rows(values_only=True))
    assert [(r[0], r[1], r[3], r[4], r[6]) for r in rows[1:]] == [
        (r["rank"], r["name"], r["submitted"], r["concluded"], r["on_time_rate"]) for r in api["rows"]]
    listed = client.get("/api/v1/monitor/export/cases.xlsx", params={"period": "2026Q3", "figure": "late"})
    numbers = [r[0] for r in list(load_workbook(BytesIO(listed.content)).worksheets[0].iter_rows(values_only=True))]
    page = client.get("/api/v1/monitor/cases", params={"period": "2026Q3", "figure": "late"}).json()
    assert numbers[1:] == [item["number"] for item in page["items"]]


def test_the_bulletin_as_pdf_and_xlsx(served: Served) -> None:
    client = served.login("supervisor")
    pdf = client.get("/api/v1/monitor/bulletin", params={"period": "2026Q3",
                                                          "region_id": served.quarter.city.region.id})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf.content)).pages)
    assert served.quarter.city.region.name + "2026年第3季度" in text
    assert served.quarter.city.units["staffing"].name in text
    xlsx = client.get("/api/v1/monitor/bulletin", params={"period": "2026Q3", "format": "xlsx"})
    assert load_workbook(BytesIO(xlsx.content)).sheetnames[:2] == ["指标", "单位排名"]


def test_refusals(served: Served) -> None:
    handler = served.login("handler")
    forbidden = handler.get("/api/v1/monitor/figures", params={"period": "2026Q3"})
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "not_supervisor"
    client = served.login("supervisor")
    bad = client.get("/api/v1/monitor/figures", params={"period": "2026Q9"})
    assert bad.status_code == 422 and bad.json()["code"] == "bad_period"
    unknown = client.get("/api/v1/monitor/cases", params={"period": "2026Q3", "figure": "nope"})
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_figure"
    table = client.get("/api/v1/monitor/export/nope.xlsx", params={"period": "2026Q3"})
    assert table.status_code == 422 and table.json()["code"] == "unknown_table"
    anonymous = TestClient(served.client.app).get("/api/v1/monitor/figures", params={"period": "2026Q3"})
    assert anonymous.status_code == 401
