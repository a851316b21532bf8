"""A person's notification channels over HTTP: in-app always on, the messaging app switched off and on."""

from __future__ import annotations

from tests.web.conftest import Api


def test_a_person_switches_messaging_off_and_on(api: Api) -> None:
    clerk = api.login("hr_social.clerk.1")
    assert clerk.get("/api/v1/notifications/channels").json() == {"in_app": True, "messaging": True}
    off = clerk.put("/api/v1/notifications/channels", json={"messaging": False})
    assert off.status_code == 200 and off.json() == {"in_app": True, "messaging": False}
    assert clerk.get("/api/v1/notifications/channels").json()["messaging"] is False
    assert api.login("hr_social.clerk.0").get("/api/v1/notifications/channels").json()["messaging"] is True
    bad = clerk.put("/api/v1/notifications/channels", json={"messaging": "maybe"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert clerk.put("/api/v1/notifications/channels", json={"messaging": True}).json()["messaging"] is True
