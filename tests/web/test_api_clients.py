"""Application clients end to end over HTTP: registration, client-credentials tokens, scopes and units, 429."""

from __future__ import annotations

import base64

from sqlalchemy import select

from tests.web.clients_helpers import oauth_client, register
from tests.web.conftest import Api
from xietong.cases.models import Event
from xietong.db.session import unit_of_work


def test_a_business_system_submits_follows_and_reads_its_case_as_itself(api: Api) -> None:
    registered = register(api)
    assert registered["client_secret"].startswith("xcs_")
    client = oauth_client(api, registered)
    response = client.post("/api/v1/cases", json={
        "local_matter_id": api.matter_id, "applicant_unit_id": api.city.units["finance"].id,
        "form": {"title": "系统对接申请"}, "channel": "api",
    })
    assert response.status_code == 201, response.text
    case_id = response.json()["id"]
    detail = client.get(f"/api/v1/cases/{case_id}")
    assert detail.status_code == 200, detail.text
    assert detail.json()["case"]["status"] == "submitted"
    assert detail.json()["case"]["applicant_person_id"] is None
    assert client.get(f"/api/v1/cases/{case_id}/events").status_code == 200
    with unit_of_work(api.app.state.engine) as session:
        actor = session.execute(select(Event.actor_kind, Event.actor_id).where(Event.case_id == case_id)).one()
    assert tuple(actor) == ("client", registered["id"])  # every action names the client as actor


def test_a_client_acts_only_for_its_units(api: Api) -> None:
    client = oauth_client(api, register(api, units=("finance",)))
    response = client.post("/api/v1/cases", json={
        "local_matter_id": api.matter_id, "applicant_unit_id": api.city.units["hr_social"].id,
        "form": {"title": "别的单位的申请"},
    })
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    other = api.login("hr_social.clerk.0").post("/api/v1/cases", json={
        "local_matter_id": api.matter_id, "applicant_unit_id": api.city.units["hr_social"].id,
        "form": {"title": "人社局自己的申请"},
    }).json()
    assert client.get(f"/api/v1/cases/{other['id']}").status_code == 404  # not its case: as if missing


def test_scopes_limit_what_a_client_may_call(api: Api) -> None:
    reader = oauth_client(api, register(api, scopes=("cases:read",)))
    refused = reader.post("/api/v1/cases", json={
        "local_matter_id": api.matter_id, "applicant_unit_id": api.city.units["finance"].id, "form": {"title": "越权"},
    })
    assert refused.status_code == 403 and refused.json()["code"] == "scope_missing"
    assert reader.get("/api/v1/cases").status_code == 200
    for method, path in (("GET", "/api/v1/tasks/todo"), ("GET", "/api/v1/clients"), ("POST", "/api/v1/auth/tokens")):
        answer = reader.request(method, path, json={})
        assert answer.status_code == 403, (method, path, answer.text)  # not on the clients' allow-list


def test_token_endpoint_refuses_bad_credentials_and_scopes_as_problems(api: Api) -> None:
    registered = register(api, scopes=("cases:read",))
    http = api.client()
    form = {"grant_type": "client_credentials", "client_id": registered["client_id"]}
    wrong = http.post("/api/v1/oauth/token", data={**form, "client_secret": "xcs_wrong"})
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client" and wrong.json()["code"] == "invalid_client"
    wider = http.post("/api/v1/oauth/token", data={**form, "client_secret": registered["client_secret"],
                                                   "scope": "cases:submit"})
    assert wider.status_code == 422 and wider.json()["error"] == "invalid_scope"
    grant = http.post("/api/v1/oauth/token", data={**form, "client_secret": registered["client_secret"],
                                                   "grant_type": "password"})
    assert grant.json()["error"] == "unsupported_grant_type"
    basic = base64.b64encode(f"{registered['client_id']}:{registered['client_secret']}".encode()).decode()
    ok = http.post("/api/v1/oauth/token", data={"grant_type": "client_credentials"},
                   headers={"Authorization": f"Basic {basic}"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["token_type"] == "Bearer" and ok.json()["scope"] == "cases:read"
    assert ok.headers["cache-control"] == "no-store"


def test_a_disabled_client_loses_its_tokens_at_once(api: Api) -> None:
    registered = register(api)
    client = oauth_client(api, registered)
    assert client.get("/api/v1/cases").status_code == 200
    admin = api.login(api.admin)
    assert admin.post(f"/api/v1/clients/{registered['id']}/disable").status_code == 200
    assert client.get("/api/v1/cases").status_code == 401
    again = api.client().post("/api/v1/oauth/token", data={
        "grant_type": "client_credentials", "client_id": registered["client_id"],
        "client_secret": registered["client_secret"],
    })
    assert again.status_code == 401


def test_registration_needs_an_administrator_over_the_units(api: Api) -> None:
    clerk = api.login("finance.clerk.0")
    body = {"name": "x", "scopes": ["cases:read"], "unit_ids": [api.city.units["finance"].id]}
    assert clerk.post("/api/v1/clients", json=body).status_code == 403
    other_region = {**body, "unit_ids": [api.other.units["finance"].id]}
    assert api.login(api.admin).post("/api/v1/clients", json=other_region).status_code == 403
    bad_scope = api.login(api.admin).post("/api/v1/clients", json={**body, "scopes": ["tasks:everything"]})
    assert bad_scope.status_code == 422 and bad_scope.json()["code"] == "bad_scopes"
    listed = api.login(api.admin).get("/api/v1/clients").json()
    assert all("client_secret" not in c and "secret_hash" not in c for c in listed)


def test_over_the_rate_limit_a_client_gets_429_with_retry_after(api: Api) -> None:
    client = oauth_client(api, register(api, rate=3))
    answers = [client.get("/api/v1/cases") for _ in range(7)]  # 3 a minute: a turning window allows 6 at most
    codes = [a.status_code for a in answers]
    assert set(codes) == {200, 429} and codes[:3] == [200, 200, 200], codes
    limited = next(a for a in answers if a.status_code == 429)
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.json()["code"] == "rate_limited" and limited.json()["title"] == "请求过于频繁"
