"""Every endpoint of /api/v1, walked from the OpenAPI document: no one gets in without logging in, and
nonsense input gets a 4xx problem+json in Chinese — never a 500, never a half-written change."""

from __future__ import annotations

import re

from tests.web.conftest import Api

PARAM = re.compile(r"\{[^}]+\}")
PUBLIC = {("post", "/api/v1/auth/login"), ("post", "/api/v1/oauth/token"),  # the token endpoint checks the client
          ("post", "/api/v1/auth/sso/dingtalk")}  # 免登: the messaging app vouches for the person
NONSENSE = (
    {"content": b"{not json", "headers": {"content-type": "application/json"}},
    {"json": {"unexpected": [1, 2, 3]}},
    {"json": [None]},
)
TAKES_NOTHING = {  # succeed whatever is sent; walked by their own tests
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/auth/totp"),
    ("post", "/api/v1/notifications/read-all"),
}


def _operations(api: Api) -> list[tuple[str, str]]:
    spec = api.app.openapi()
    return [
        (method, path)
        for path, item in spec["paths"].items()
        if path.startswith("/api/v1")
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def _is_problem(response) -> bool:  # type: ignore[no-untyped-def]
    body = response.json()
    return (
        response.headers["content-type"] == "application/problem+json"
        and {"type", "code", "title", "detail", "status"} <= body.keys()
        and body["status"] == response.status_code
        and re.search(r"[\u4e00-\u9fff]", body["title"] + body["detail"]) is not None
    )


def test_every_endpoint_requires_a_login(api: Api) -> None:
    client = api.client()
    operations = _operations(api)
    assert len(operations) > 25
    for method, path in operations:
        if (method, path) in PUBLIC:
            continue
        response = client.request(method, PARAM.sub("1", path), json={})
        assert response.status_code == 401, (method, path, response.status_code)
        assert _is_problem(response), (method, path)


def _typed_query_params(api: Api, method: str, path: str) -> list[str]:
    """Query parameters that are not free text (a nonsense value must be refused, not searched for)."""
    parameters = api.app.openapi()["paths"][path][method].get("parameters", [])
    return [
        p["name"] for p in parameters
        if (p["in"] == "query" and "string" not in str(p["schema"])) or p["name"] == "cursor"
    ]


def test_every_endpoint_answers_nonsense_with_a_problem(api: Api) -> None:
    client = api.login("office.clerk.0")
    counts_before = client.get("/api/v1/cases", params={"with_total": "true", "limit": 1}).json()["total"]
    for method, path in _operations(api):
        if (method, path) in TAKES_NOTHING:
            continue
        attempts = []
        # an id beyond what a 64-bit column holds too: the driver refuses to bind it, which must not be a 500
        for url in {PARAM.sub("not-a-number", path), PARAM.sub("999999999", path), PARAM.sub(str(2**70), path)}:
            if method == "get":  # reads take no body: the nonsense goes into the path and the query
                attempts += [(url, {}), *((url, {"params": {name: "%%%"}}) for name in
                                          _typed_query_params(api, method, path))]
            else:
                attempts += [(url, body) for body in NONSENSE]
        for url, kwargs in attempts:
            if url == path and not kwargs:  # a read without path parameters: only its query can be nonsense
                continue
            response = client.request(method, url, **kwargs)  # type: ignore[arg-type]
            assert 400 <= response.status_code < 500, (method, url, kwargs, response.status_code, response.text)
            assert _is_problem(response), (method, url, response.text)
    counts_after = client.get("/api/v1/cases", params={"with_total": "true", "limit": 1}).json()["total"]
    assert counts_after == counts_before


def test_unknown_paths_and_methods_are_problems_too(api: Api) -> None:
    client = api.login("office.clerk.0")
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and _is_problem(missing)
    wrong_method = client.put("/api/v1/cases")
    assert wrong_method.status_code == 405 and _is_problem(wrong_method)


def test_numbers_the_database_cannot_hold_are_refused_as_input(api: Api) -> None:
    client = api.login("office.clerk.0")
    for url in (f"/api/v1/cases/{2**70}", f"/api/v1/cases/-{2**70}", f"/api/v1/cases?local_matter_id={2**64}"):
        response = client.get(url)
        assert response.status_code == 422 and _is_problem(response), (url, response.text)
        assert response.json()["code"] == "number_out_of_range"
    year = client.get("/api/v1/calendar/export", params={"year": 99999})
    assert year.status_code == 422 and year.json()["code"] == "calendar_year_out_of_range"


def test_an_unknown_field_is_refused_not_ignored(api: Api) -> None:
    """A misspelt field must not be dropped silently: the case would be filed without what the caller meant."""
    client = api.login("finance.clerk.0")
    response = client.post("/api/v1/cases", json={
        "local_matter_id": api.matter_id, "applicant_unit_id": api.city.units["finance"].id,
        "form": {"title": "申请增加编制"}, "attachment_ids": [1],
    })
    assert response.status_code == 422 and _is_problem(response), response.text
    [problem] = response.json()["errors"]
    assert problem["field"] == "body.attachment_ids" and "不认识的字段" in problem["message"]
