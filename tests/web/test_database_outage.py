"""The database going away: a real server behind a cut TCP proxy answers 503 in Chinese, writes nothing, and
recovers by itself once the proxy is restored (PostgreSQL only: the shared server is never stopped)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from tests.conftest import PG_ENV
from tests.faults.proxy import CuttableProxy
from tests.web.browser import served
from tests.web.conftest import PASSWORD, Api
from xietong.cases.models import Case
from xietong.config import Settings
from xietong.db.session import unit_of_work
from xietong.web.app import create_app
from xietong.web.problems import is_database_outage


def test_only_an_unreachable_database_counts_as_an_outage(db_engine: Engine) -> None:
    """A statement's own mistake stays a bug (500, logged); the cut below shows a lost connection is 503."""
    with pytest.raises(DBAPIError) as mistake, db_engine.connect() as conn:
        conn.execute(text("SELECT no_such_column FROM no_such_table"))
    assert not is_database_outage(mistake.value)


@pytest.fixture
def proxied(settings: Settings, tmp_path: Path) -> Iterator[tuple[CuttableProxy, Settings]]:
    url = make_url(settings.resolved_database_url)
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432).start()
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    try:
        yield proxy, settings.model_copy(update={"database_url": through, "data_dir": tmp_path})
    finally:
        proxy.stop()


def _cases(db_engine: Engine, api: Api) -> int:
    with unit_of_work(db_engine) as session:
        return session.scalar(select(func.count()).select_from(Case).where(Case.region_id == api.city.region.id)) or 0


@pytest.mark.skipif(not os.environ.get(PG_ENV), reason="cuts a proxy in front of PostgreSQL")
def test_a_cut_database_answers_503_writes_nothing_and_recovers_by_itself(
    api: Api, db_engine: Engine, proxied: tuple[CuttableProxy, Settings]
) -> None:
    proxy, settings = proxied
    app = create_app(settings)
    person = api.city.person("finance", "clerk", 0)
    case = {"local_matter_id": api.matter_id, "applicant_unit_id": api.city.units["finance"].id,
            "form": {"title": "断网期间的申请"}}
    with served(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        login = client.post("/api/v1/auth/login", json={"username": person.username, "password": PASSWORD})
        assert login.status_code == 200, login.text
        client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        assert client.get("/api/v1/tasks/todo").status_code == 200
        before = _cases(db_engine, api)

        proxy.cut()
        for request in (lambda: client.get("/api/v1/tasks/todo"), lambda: client.post("/api/v1/cases", json=case)):
            response = request()
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["retry-after"] == "5"
            body = response.json()
            assert body["code"] == "database_unavailable" and "数据库暂时无法连接" in body["detail"]
        assert client.get("/readyz").status_code == 503
        assert _cases(db_engine, api) == before  # the refused submission left nothing behind

        proxy.restore()
        deadline = time.monotonic() + 30  # a bound on the wait, not a timing under test
        while (todo := client.get("/api/v1/tasks/todo")).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert todo.status_code == 200, todo.text  # no restart: the pool reconnected on its own
        created = client.post("/api/v1/cases", json=case)
        assert created.status_code == 201, created.text
        assert _cases(db_engine, api) == before + 1
    app.state.engine.dispose()
