"""The app factory: health, landing counts, problem+json, and refusing an outdated schema."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from xietong.config import Settings
from xietong.web.app import OutdatedSchema, create_app


def test_health_and_landing(settings: Settings, db_engine: object) -> None:
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        page = client.get("/")
        assert page.status_code == 200 and "办件" in page.text


def test_server_refuses_an_unmigrated_database(tmp_path) -> None:
    app = create_app(Settings(data_dir=tmp_path, demo=True))
    with pytest.raises(OutdatedSchema, match="xietong db upgrade"), TestClient(app):
        pass


def test_the_instance_secret_is_generated_once_and_shared(settings: Settings, db_engine: object) -> None:
    unconfigured = settings.model_copy(update={"secret_key": None})
    with TestClient(create_app(unconfigured)) as first, TestClient(create_app(unconfigured)) as second:
        generated = first.app.state.secret_key  # type: ignore[attr-defined]
        assert len(generated) >= 48 and second.app.state.secret_key == generated  # type: ignore[attr-defined]
    with TestClient(create_app(settings)) as configured:
        assert configured.app.state.secret_key == settings.secret_key  # type: ignore[attr-defined]


def test_an_in_process_worker_sequences_events_and_stops_with_the_app(settings: Settings, db_engine: object) -> None:
    app = create_app(settings.model_copy(update={"run_worker_in_process": True}))
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        thread = next(t for t in threading.enumerate() if t.name == "xietong-worker")
        assert thread.is_alive()
    thread.join(timeout=5)
    assert not thread.is_alive()
