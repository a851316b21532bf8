"""/readyz, /metrics, and JSON log lines that carry the request id."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

from fastapi.testclient import TestClient

from tests.web.conftest import Api, submit
from xietong.config import Settings
from xietong.db import migrate
from xietong.db.engine import create_db_engine
from xietong.logs import json_handler
from xietong.web.app import create_app


def test_ready_when_the_database_is_reachable_and_current(api: Api) -> None:
    response = api.client().get("/readyz")
    assert response.status_code == 200 and response.json() == {"status": "ready"}


def test_not_ready_answers_503_in_chinese_when_the_schema_is_behind(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, demo=True)
    engine = create_db_engine(settings)
    migrate.upgrade(engine, "0008")
    engine.dispose()
    app = create_app(settings)
    try:
        response = TestClient(app).get("/readyz")
    finally:
        app.state.engine.dispose()
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "not_ready" and "xietong db upgrade" in body["detail"] and "数据库结构" in body["detail"]


def test_not_ready_when_the_database_cannot_be_reached(tmp_path: Path) -> None:
    nobody_listens = "postgresql://xietong@127.0.0.1:9/xietong?connect_timeout=2"  # the discard port
    app = create_app(Settings(database_url=nobody_listens, data_dir=tmp_path, demo=True))
    try:
        response = TestClient(app).get("/readyz")
    finally:
        app.state.engine.dispose()
    assert response.status_code == 503 and response.json()["code"] == "not_ready"


def _completions(api: Api) -> float:
    lines = api.client().get("/metrics").text.splitlines()
    return float(next(line for line in lines if line.startswith("xietong_task_completions_total ")).split()[1])


def test_metrics_count_requests_by_route_template_and_task_completions(api: Api) -> None:
    case_id = submit(api.login("finance.clerk.0"), api, title="指标")["id"]
    handler = api.login("staffing.clerk.0")
    assert handler.post(f"/api/v1/cases/{case_id}/accept").status_code == 200
    todo = handler.get("/api/v1/tasks/todo", params={"limit": 200}).json()["items"]
    (task,) = [t for t in todo if t["case_id"] == case_id]
    before = _completions(api)
    assert handler.post("/api/v1/tasks/999999999/complete", json={"decision": "approve"}).status_code == 404
    assert _completions(api) == before  # a refused completion is not one
    assert handler.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve"}).status_code == 200
    assert _completions(api) == before + 1
    text = api.client().get("/metrics").text
    assert 'method="GET",route="/api/v1/tasks/todo"' in text
    assert 'route="/api/v1/tasks/{task_id}/complete",status="404"' in text  # the template, never the id
    assert "999999999" not in text
    for gauge in ("xietong_outbox_lag_seconds", "xietong_timer_lag_seconds", "xietong_changelog_unsequenced_events"):
        assert f"\n{gauge} " in text


def test_log_lines_are_json_with_the_request_id(api: Api) -> None:
    stream = io.StringIO()
    handler = json_handler(stream)
    logger = logging.getLogger("xietong.access")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        api.client().get("/healthz", headers={"X-Request-ID": "req-42"})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    ours = [line for line in lines if line["request_id"] == "req-42"]
    assert ours and ours[0]["route"] == "/healthz" and ours[0]["status"] == 200 and ours[0]["level"] == "info"
