"""The OpenID provider and messaging stand-ins on loopback ports, and the app served over real HTTP pointed at
them (the web tests' committed little city, ``api``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, select

from tests.web.browser import served
from tests.web.conftest import Api, api  # noqa: F401  (the fixture)
from xietong.config import Settings
from xietong.db.session import unit_of_work
from xietong.security.models import AuditRecord
from xietong.standins import Running, oidc, serve_in_thread
from xietong.standins import messaging as messaging_standin
from xietong.web.app import create_app


@dataclass
class Sso:
    provider: oidc.Provider
    idp: Running
    messaging: messaging_standin.Messaging
    platform: Running
    base: str  # the app, served over real HTTP
    settings: Settings
    engine: Engine
    api: Api
    app: FastAPI
    browsers: list[httpx.Client] = field(default_factory=list)

    def browser(self) -> httpx.Client:
        """A fresh "browser": its own cookie jar, redirects followed by hand."""
        client = httpx.Client(timeout=20)
        self.browsers.append(client)
        return client

    def start(self, browser: httpx.Client, next_: str = "") -> dict[str, str]:
        """/sso/login → the provider's log-in form; the authorization request's parameters."""
        response = browser.get(f"{self.base}/sso/login", params={"next": next_} if next_ else None)
        assert response.status_code == 303, response.text
        authorize = response.headers["location"]
        assert authorize.startswith(f"{self.idp.url}/authorize?")
        form = browser.get(authorize)
        assert form.status_code == 200 and "统一身份认证" in form.text, form.text
        return dict(parse_qsl(urlsplit(authorize).query))

    def authorize(self, browser: httpx.Client, params: dict[str, str], employee_code: str) -> str:
        """Log in at the provider as ``employee_code``; the callback URL it redirects to."""
        response = browser.post(f"{self.idp.url}/authorize", data={**params, "employee_code": employee_code})
        assert response.status_code == 303, response.text
        return response.headers["location"]

    def login(self, browser: httpx.Client, employee_code: str) -> httpx.Response:
        """The whole flow; the callback's answer (303 with a session, or the Chinese refusal page)."""
        return browser.get(self.authorize(browser, self.start(browser), employee_code))

    def audits(self, action: str, person_id: int | None = None) -> list[AuditRecord]:
        with unit_of_work(self.engine) as session:
            query = select(AuditRecord).where(AuditRecord.action == action)
            if person_id is not None:
                query = query.where(AuditRecord.target_id == str(person_id))
            return list(session.scalars(query.order_by(AuditRecord.id)))

    def me(self, browser: httpx.Client) -> dict[str, Any]:
        response = browser.get(f"{self.base}/api/v1/auth/me")
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def sso(api: Api, settings: Settings, db_engine: Engine) -> Iterator[Sso]:  # noqa: F811  (the fixture)
    provider, messaging = oidc.Provider(people={}), messaging_standin.Messaging()
    idp, platform = serve_in_thread(oidc.make_app(provider)), serve_in_thread(messaging_standin.make_app(messaging))
    pointed = settings.model_copy(update={**oidc.settings_for(idp.url),
                                          **messaging_standin.settings_for(platform.url)})
    app = create_app(pointed)
    app.state.settings = pointed  # demo mode pointed the adapters at mounted stand-ins: these are on their own ports
    with served(app) as base:
        provider.clients[oidc.CLIENT_ID].redirect_uris = (f"{base}/sso/callback",)
        world = Sso(provider, idp, messaging, platform, base, pointed, db_engine, api, app)
        yield world
        for browser in world.browsers:
            browser.close()
    app.state.engine.dispose()
    idp.close()
    platform.close()


@pytest.fixture
def fresh(sso: Sso) -> Iterator[Sso]:
    """The module's stand-ins, behaving again after a test made the provider misbehave."""
    yield sso
    sso.provider.tamper.clear()
    sso.provider.sign_with_stranger = sso.provider.corrupt_signature = False
    sso.provider.code_claim_in_id_token = True
    sso.provider.amr = ["pwd"]
