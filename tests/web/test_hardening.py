"""Security headers on every response, the request id in and out, HSTS only over (trusted) TLS."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import Api
from xietong.config import Settings
from xietong.web.app import create_app


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/auth/me", "/no/such/page", "/"])
def test_every_response_carries_the_security_headers(api: Api, path: str) -> None:
    response = api.client().get(path)
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "img-src 'self' data:" in csp
    assert "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "strict-transport-security" not in response.headers  # plain HTTP


def test_a_sane_request_id_is_echoed_and_a_missing_or_odd_one_replaced(api: Api) -> None:
    client = api.client()
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    fresh = client.get("/healthz").headers["x-request-id"]
    odd = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces" * 10}).headers["x-request-id"]
    assert len(fresh) == 32 and fresh != odd and " " not in odd


def test_hsts_over_tls_and_only_trusted_forwarded_proto_counts(settings: Settings, api: Api) -> None:
    over_tls = TestClient(api.app, base_url="https://testserver").get("/healthz")
    assert over_tls.headers["strict-transport-security"].startswith("max-age=31536000")
    forwarded = {"X-Forwarded-Proto": "https"}
    assert "strict-transport-security" not in api.client().get("/healthz", headers=forwarded).headers
    trusting = create_app(settings.model_copy(update={"trust_forwarded_proto": True}))
    try:
        response = TestClient(trusting).get("/healthz", headers=forwarded)
        assert "strict-transport-security" in response.headers
    finally:
        trusting.state.engine.dispose()


def test_the_login_cookie_is_secure_behind_a_trusted_tls_proxy(settings: Settings, api: Api) -> None:
    trusting = create_app(settings.model_copy(update={"trust_forwarded_proto": True}))
    try:
        person = api.city.people["office.clerk.0"]
        response = TestClient(trusting).post(
            "/api/v1/auth/login", json={"username": person.username, "password": "Xietong-2026!"},
            headers={"X-Forwarded-Proto": "https"},
        )
        assert response.status_code == 200, response.text
        assert "secure" in response.headers["set-cookie"].lower()
    finally:
        trusting.state.engine.dispose()
