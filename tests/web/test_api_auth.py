"""Log-in, lock-out, CSRF, log-out, password change and personal API tokens over HTTP."""

from __future__ import annotations

from tests.web.conftest import PASSWORD, Api


def test_login_gives_a_session_cookie_and_a_csrf_token(api: Api) -> None:
    client = api.client()
    person = api.city.person("finance", "clerk")
    response = client.post("/api/v1/auth/login", json={"username": person.username, "password": PASSWORD})
    assert response.status_code == 200
    me = response.json()
    assert me["person_id"] == person.id and me["csrf_token"] and api.city.units["finance"].id in me["unit_ids"]
    assert "httponly" in response.headers["set-cookie"].lower()
    assert client.get("/api/v1/auth/me").json()["csrf_token"] == me["csrf_token"]


def test_wrong_password_and_unknown_user_read_the_same(api: Api) -> None:
    client = api.client()
    wrong = client.post("/api/v1/auth/login", json={"username": api.city.person("office", "head").username,
                                                    "password": "nope"})
    unknown = client.post("/api/v1/auth/login", json={"username": "nobody-here", "password": "nope"})
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "bad_credentials" and response.json()["detail"] == "用户名或密码错误"


def test_five_failures_lock_the_account_for_half_an_hour(api: Api) -> None:
    client = api.client()
    username = api.city.person("office", "section_chief", 1).username
    for _ in range(5):
        assert client.post("/api/v1/auth/login", json={"username": username, "password": "bad"}).status_code == 401
    locked = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert locked.status_code == 403 and locked.json()["code"] == "account_locked" and "分钟" in locked.json()["detail"]


def test_unsafe_requests_need_the_csrf_token_of_the_session(api: Api) -> None:
    client = api.login("finance.clerk.0")
    token = client.headers.pop("X-CSRF-Token")
    refused = client.post("/api/v1/auth/tokens", json={"name": "脚本"})
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    client.headers["X-CSRF-Token"] = "forged"
    assert client.post("/api/v1/auth/tokens", json={"name": "脚本"}).status_code == 403
    client.headers["X-CSRF-Token"] = token
    assert client.post("/api/v1/auth/tokens", json={"name": "脚本"}).status_code == 201
    assert client.get("/api/v1/auth/tokens").status_code == 200  # reads need no token


def test_logout_ends_the_session_everywhere(api: Api) -> None:
    client = api.login("finance.clerk.1")
    cookie = client.cookies.get("xietong_session")
    assert client.post("/api/v1/auth/logout").status_code == 204
    replay = api.client()
    replay.cookies.set("xietong_session", cookie)
    response = replay.get("/api/v1/auth/me")
    assert response.status_code == 401 and response.json()["code"] == "session_expired"
    assert api.client().get("/api/v1/auth/me").json()["code"] == "not_logged_in"


def test_personal_tokens_work_as_bearer_until_revoked(api: Api) -> None:
    client = api.login("big_data.clerk.0")
    issued = client.post("/api/v1/auth/tokens", json={"name": "统计脚本"}).json()
    assert issued["token"].startswith("xt_") and issued["prefix"] == issued["token"][:10]
    listed = client.get("/api/v1/auth/tokens").json()
    assert [t["name"] for t in listed] == ["统计脚本"] and "token" not in listed[0]
    program = api.client()
    program.headers["Authorization"] = f"Bearer {issued['token']}"
    assert program.get("/api/v1/auth/me").json()["person_id"] == api.city.person("big_data", "clerk").id
    assert program.post("/api/v1/auth/tokens", json={"name": "无需 CSRF"}).status_code == 201  # no cookie, no CSRF
    assert client.delete(f"/api/v1/auth/tokens/{issued['id']}").status_code == 204
    assert program.get("/api/v1/auth/me").json()["code"] == "bad_token"
    program.headers["Authorization"] = "Basic abc"
    assert program.get("/api/v1/auth/me").json()["code"] == "bad_authorization"
    assert client.delete("/api/v1/auth/tokens/999999999").status_code == 404


def test_password_change_checks_the_old_one_and_the_rule(api: Api) -> None:
    person = api.city.person("big_data", "head", 1)
    client, elsewhere = api.login(person), api.login(person)
    weak = client.post("/api/v1/auth/password", json={"old_password": PASSWORD, "new_password": "123"})
    assert weak.status_code == 422 and {e["code"] for e in weak.json()["errors"]} >= {"password_too_short"}
    wrong = client.post("/api/v1/auth/password", json={"old_password": "x", "new_password": "Better-Pass-2027"})
    assert wrong.status_code == 422 and wrong.json()["code"] == "bad_old_password"
    ok = client.post("/api/v1/auth/password", json={"old_password": PASSWORD, "new_password": "Better-Pass-2027"})
    assert ok.status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 200  # this session stays
    assert elsewhere.get("/api/v1/auth/me").status_code == 401  # the other one ends
    assert api.login(person, password="Better-Pass-2027").get("/api/v1/auth/me").status_code == 200
