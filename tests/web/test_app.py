"""The app factory: health, landing counts, problem+json, and refusing an outdated schema."""

from __future__ import annotations

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
