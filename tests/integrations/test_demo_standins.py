"""In demo mode the app serves every stand-in itself and its settings point the adapters there."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from xietong.config import Settings
from xietong.integrations.province.client import ProvinceClient
from xietong.web.app import create_app


def test_the_demo_server_mounts_the_province_platform_and_points_the_adapter_at_it(
    settings: Settings, db_engine: Engine
) -> None:
    app = create_app(settings.model_copy(update={"demo": True, "port": 8123}))
    configured = app.state.settings
    assert configured.province_url == "http://127.0.0.1:8123/standins/province"
    with TestClient(app) as http:
        client = ProvinceClient(http, base_url="http://testserver/standins/province",
                                app_id=configured.province_app_id, secret=configured.province_secret)
        record = {"PROJID": "XT1", "EVALUATE_LEVEL": "5", "EVALUATE_TIME": "2026-12-02 10:00:00"}
        refused = http.post("/standins/province/exchange/up_pro_evaluation", json={"serial": "s", "record": record})
        assert refused.status_code == 401 and refused.json()["msg"] == "应用标识无效"
        assert client.receipts(date(2026, 12, 2)) == []
    app.state.engine.dispose()
