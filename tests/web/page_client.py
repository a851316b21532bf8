"""Helpers for page tests: log in through the log-in form, read the CSRF token the layout hands to htmx."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORD, Api
from xietong.directory.models import Person

HX_HEADERS = re.compile(r"hx-headers='([^']+)'")


def page_login(api: Api, key: str | Person, *, htmx: bool = True) -> TestClient:
    """A browser-like client logged in through ``POST /login``; with ``htmx`` it sends the CSRF header and
    ``HX-Request`` as htmx would (the token read from the page's ``<body hx-headers>``)."""
    person = key if isinstance(key, Person) else api.city.people[key]
    client = api.client()
    response = client.post("/login", data={"username": person.username, "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 303, response.text
    if htmx:
        client.headers.update(csrf_headers(client))
        client.headers["HX-Request"] = "true"
    return client


def csrf_headers(client: TestClient) -> dict[str, str]:
    page = client.get("/workbench", headers={"HX-Request": ""})
    found = HX_HEADERS.search(page.text)
    assert found, "the layout must hand htmx the CSRF header"
    return json.loads(found.group(1).replace("&#34;", '"').replace("&quot;", '"'))
