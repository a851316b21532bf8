"""Registering an application client over the API and talking to the app as it (authlib's OAuth2 client)."""

from __future__ import annotations

from typing import Any

from authlib.integrations.httpx_client import OAuth2Client
from fastapi.testclient import TestClient

from tests.web.conftest import Api


def register(
    api: Api, *, units: tuple[str, ...] = ("finance",), scopes: tuple[str, ...] = ("cases:read", "cases:submit"),
    rate: int = 600, name: str = "财政业务系统",
) -> dict[str, Any]:
    """A client registered by the region's system administrator; the answer carries ``client_secret`` once."""
    admin = api.login(api.admin)
    response = admin.post("/api/v1/clients", json={
        "name": name, "scopes": list(scopes), "unit_ids": [api.city.units[u].id for u in units],
        "rate_limit_per_minute": rate,
    })
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def oauth_client(api: Api, registered: dict[str, Any], **kwargs: Any) -> OAuth2Client:
    """An authlib OAuth2 client-credentials session over the app's in-process transport, token fetched."""
    transport = TestClient(api.app)._transport
    client = OAuth2Client(
        client_id=registered["client_id"], client_secret=registered["client_secret"],
        token_endpoint_auth_method="client_secret_basic", transport=transport, base_url="http://testserver",
        **kwargs,
    )
    client.fetch_token("http://testserver/api/v1/oauth/token", grant_type="client_credentials")
    return client
