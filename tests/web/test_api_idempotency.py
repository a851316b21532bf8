"""Idempotency-Key on POST over HTTP: the same request is answered once and replayed; a changed one is refused."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.web.clients_helpers import oauth_client, register
from tests.web.conftest import Api
from xietong.cases.models import Case
from xietong.db.session import unit_of_work


def _count(api: Api, title: str) -> int:
    with unit_of_work(api.app.state.engine) as session:
        return session.scalar(select(func.count()).select_from(Case).where(Case.title == title)) or 0


def _body(api: Api, title: str) -> dict[str, object]:
    return {"local_matter_id": api.matter_id, "applicant_unit_id": api.city.units["finance"].id,
            "form": {"title": title}}


def test_a_client_retrying_a_submission_with_its_key_files_one_case(api: Api) -> None:
    client = oauth_client(api, register(api))
    headers = {"Idempotency-Key": "order-2026-0001"}
    first = client.post("/api/v1/cases", json=_body(api, "重试不重复"), headers=headers)
    assert first.status_code == 201, first.text
    again = client.post("/api/v1/cases", json=_body(api, "重试不重复"), headers=headers)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true" and again.headers["location"] == first.headers["location"]
    assert _count(api, "重试不重复") == 1
    changed = client.post("/api/v1/cases", json=_body(api, "换了内容"), headers=headers)
    assert changed.status_code == 422 and changed.json()["code"] == "idempotency_key_reused"
    assert changed.headers["content-type"].startswith("application/problem+json")
    assert _count(api, "换了内容") == 0


def test_keys_belong_to_their_caller_and_refusals_are_replayed_too(api: Api) -> None:
    clerk, colleague = api.login("finance.clerk.0"), api.login("finance.clerk.1")
    headers = {"Idempotency-Key": "same-key-two-people"}
    assert clerk.post("/api/v1/cases", json=_body(api, "各自的键"), headers=headers).status_code == 201
    assert colleague.post("/api/v1/cases", json=_body(api, "各自的键"), headers=headers).status_code == 201
    assert _count(api, "各自的键") == 2
    bad = {**_body(api, "x"), "local_matter_id": "not a number"}
    refused = clerk.post("/api/v1/cases", json=bad, headers={"Idempotency-Key": "bad-body"})
    assert refused.status_code == 422
    replayed = clerk.post("/api/v1/cases", json=bad, headers={"Idempotency-Key": "bad-body"})
    assert replayed.status_code == 422 and replayed.headers["idempotent-replayed"] == "true"


def test_a_bad_key_is_a_problem_and_a_post_without_a_key_runs_as_usual(api: Api) -> None:
    clerk = api.login("finance.clerk.0")
    too_long = clerk.post("/api/v1/cases", json=_body(api, "键太长"), headers={"Idempotency-Key": "k" * 201})
    assert too_long.status_code == 422 and too_long.json()["code"] == "bad_idempotency_key"
    assert _count(api, "键太长") == 0
    for _ in range(2):
        assert clerk.post("/api/v1/cases", json=_body(api, "没有键")).status_code == 201
    assert _count(api, "没有键") == 2
    anonymous = api.client().post("/api/v1/cases", json=_body(api, "匿名"), headers={"Idempotency-Key": "anon"})
    assert anonymous.status_code == 401
