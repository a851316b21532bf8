"""/api/v1/integrations: the system administrator sees every outside system's health and works its dead
messages; nobody else does."""

from __future__ import annotations

from sqlalchemy import delete

from tests.web.conftest import Api
from xietong.db.session import unit_of_work
from xietong.integrations.models import OutboundMessage
from xietong.integrations.outbound import enqueue


def test_only_a_system_administrator_sees_the_integrations(api: Api) -> None:
    assert api.login("finance.clerk.0").get("/api/v1/integrations").status_code == 403
    assert api.login(api.auditor).get("/api/v1/integrations/dead").status_code == 403
    response = api.login(api.root).get("/api/v1/integrations")
    assert response.status_code == 200
    assert isinstance(response.json(), list)


def test_a_dead_message_is_replayed_once_and_then_no_longer_dead(api: Api) -> None:
    from xietong.integrations.channels import CHANNELS, channel

    name = "test-api-channel"

    @channel(name, label="测试系统")
    def send(client, message, settings):  # type: ignore[no-untyped-def]
        raise AssertionError("not sent in this test")

    engine = api.app.state.engine
    try:
        with unit_of_work(engine) as session:
            message_id = enqueue(session, name, "notice", {"n": 1})
            session.get(OutboundMessage, message_id).state = "dead"  # type: ignore[union-attr]
        root = api.login(api.root)
        health = {h["channel"]: h for h in root.get("/api/v1/integrations").json()}
        assert (health[name]["status"], health[name]["dead"], health[name]["label"]) == ("failing", 1, "测试系统")
        assert [m["id"] for m in root.get("/api/v1/integrations/dead", params={"channel": name}).json()] == [
            message_id]
        replayed = root.post(f"/api/v1/integrations/messages/{message_id}/replay")
        assert replayed.status_code == 200 and replayed.json()["state"] == "pending"
        again = root.post(f"/api/v1/integrations/messages/{message_id}/skip")
        assert again.status_code == 409
        assert again.headers["content-type"].startswith("application/problem+json")
        assert "死信" in again.json()["detail"]
        assert root.post("/api/v1/integrations/messages/999999999/skip").status_code == 404
    finally:
        CHANNELS.pop(name, None)
        with unit_of_work(engine) as session:
            session.execute(delete(OutboundMessage).where(OutboundMessage.channel == name))


def test_province_reconciliation_over_the_api(api: Api) -> None:
    from xietong.standins import serve_in_thread
    from xietong.standins.province import ProvincePlatform

    root = api.login(api.root)
    assert api.login("finance.clerk.0").get("/api/v1/integrations/province/reconciliation").status_code == 403
    # The demo settings point at the stand-in mounted in the demo server, which this test does not run.
    down = root.get("/api/v1/integrations/province/reconciliation")
    assert down.status_code == 503 and "暂时无法访问" in down.json()["detail"]

    running = serve_in_thread(ProvincePlatform().app())
    settings = api.app.state.settings
    api.app.state.settings = settings.model_copy(update={"province_url": running.url})
    try:
        report = root.get("/api/v1/integrations/province/reconciliation", params={"day": "2026-12-01"})
        assert report.status_code == 200, report.text
        assert report.json()["day"] == "2026-12-01" and report.json()["unknown"] == []
    finally:
        api.app.state.settings = settings
        running.close()
