"""OpenID Connect log-in through the real relying party against the stand-in provider, over loopback HTTP: the
first log-in links by employee code, later ones follow the link; every way a log-in must fail, fails — with a
Chinese page, an audit record and no session, never a new account."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pyotp
import pytest
from sqlalchemy import func, select, update

from tests.integrations.sso.conftest import Sso
from xietong.db.base import utcnow
from xietong.db.session import unit_of_work
from xietong.directory.models import Person
from xietong.errors import Unavailable
from xietong.integrations.oidc import client as oidc_client
from xietong.security import totp
from xietong.security.models import Credential, SecondFactor, SsoLink, WebSession
from xietong.standins.oidc import subject_of
from xietong.web.pages.sso import ATTEMPT_COOKIE


def _links(sso: Sso, person_id: int) -> list[tuple[str, str]]:
    with unit_of_work(sso.engine) as session:
        return [(row.issuer, row.subject) for row in
                session.scalars(select(SsoLink).where(SsoLink.person_id == person_id))]


def _refusal(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert f'data-code="{code}"' in response.text, response.text
    assert "set-cookie" not in response.headers or "xt_session=" not in response.headers["set-cookie"]


def test_first_login_links_by_employee_code_and_the_second_follows_the_link(fresh: Sso) -> None:
    person = fresh.api.city.people["finance.clerk.1"]
    browser = fresh.browser()
    answer = browser.get(fresh.authorize(browser, fresh.start(browser, next_="/notifications"), person.employee_code))
    assert answer.status_code == 303 and answer.headers["location"] == "/notifications"
    assert fresh.me(browser)["person_id"] == person.id
    assert _links(fresh, person.id) == [(fresh.idp.url, subject_of(person.employee_code))]
    linked = fresh.audits("auth.sso_linked", person.id)
    assert len(linked) == 1 and linked[0].detail["method"] == "oidc"

    again = fresh.browser()
    assert fresh.login(again, person.employee_code).status_code == 303
    assert fresh.me(again)["person_id"] == person.id
    assert len(fresh.audits("auth.sso_linked", person.id)) == 1, "the second log-in used the stored link"
    assert len(fresh.audits("auth.login", person.id)) >= 2
    # the session is the ordinary one: log-out ends it
    csrf = fresh.me(again)["csrf_token"]
    assert again.post(f"{fresh.base}/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert again.get(f"{fresh.base}/api/v1/auth/me").status_code == 401


def test_the_employee_code_may_come_from_userinfo(fresh: Sso) -> None:
    fresh.provider.code_claim_in_id_token = False
    person = fresh.api.city.people["staffing.clerk.1"]
    browser = fresh.browser()
    assert fresh.login(browser, person.employee_code).status_code == 303
    assert fresh.me(browser)["person_id"] == person.id


def test_an_unknown_employee_code_is_refused_and_no_account_is_made(fresh: Sso) -> None:
    with unit_of_work(fresh.engine) as session:
        before = session.scalar(select(func.count()).select_from(Person))
    answer = fresh.login(fresh.browser(), "E-NOBODY-4711")
    _refusal(answer, 403, "sso_no_person")
    assert "没有工号为 E-NOBODY-4711 的人员" in answer.text
    with unit_of_work(fresh.engine) as session:
        assert session.scalar(select(func.count()).select_from(Person)) == before
        assert session.scalar(select(SsoLink).where(SsoLink.subject == subject_of("E-NOBODY-4711"))) is None
    refused = fresh.audits("auth.login_refused.sso_no_person")
    assert refused and refused[-1].detail["employee_code"] == "E-NOBODY-4711"


def test_inactive_and_locked_people_are_refused(fresh: Sso) -> None:
    inactive, locked = fresh.api.city.people["hr_social.clerk.0"], fresh.api.city.people["hr_social.clerk.1"]
    with unit_of_work(fresh.engine) as session:
        session.execute(update(Person).where(Person.id == inactive.id).values(active=False))
        session.execute(update(Credential).where(Credential.person_id == locked.id)
                        .values(locked_until=utcnow() + timedelta(minutes=20)))
    try:
        _refusal(fresh.login(fresh.browser(), inactive.employee_code), 403, "sso_inactive")
        _refusal(fresh.login(fresh.browser(), locked.employee_code), 403, "account_locked")
        assert _links(fresh, inactive.id) == [] and _links(fresh, locked.id) == []
    finally:
        with unit_of_work(fresh.engine) as session:
            session.execute(update(Person).where(Person.id == inactive.id).values(active=True))
            session.execute(update(Credential).where(Credential.person_id == locked.id).values(locked_until=None))


def test_a_link_is_never_re_pointed_silently(fresh: Sso) -> None:
    first, second = fresh.api.city.people["office.clerk.1"], fresh.api.city.people["office.section_chief.0"]
    assert fresh.login(fresh.browser(), first.employee_code).status_code == 303
    # the provider now says first's subject carries second's 工号
    fresh.provider.tamper = {"employee_code": second.employee_code}
    _refusal(fresh.login(fresh.browser(), first.employee_code), 403, "sso_link_mismatch")
    # another subject claims first's 工号
    fresh.provider.tamper = {"sub": "u-somebody-else"}
    _refusal(fresh.login(fresh.browser(), first.employee_code), 403, "sso_person_linked")
    assert _links(fresh, first.id) == [(fresh.idp.url, subject_of(first.employee_code))]
    assert _links(fresh, second.id) == []


@pytest.mark.parametrize(("tamper", "why"), [
    ({"nonce": "not-the-nonce-we-sent"}, "wrong nonce"),
    ({"aud": "another-client"}, "wrong audience"),
    ({"exp": int(time.time()) - 600, "iat": int(time.time()) - 900}, "expired"),
    ({"iss": "https://idp.elsewhere.example"}, "wrong issuer"),
])
def test_id_tokens_with_wrong_claims_are_refused(fresh: Sso, tamper: dict[str, object], why: str) -> None:
    fresh.provider.tamper = tamper
    person = fresh.api.city.people["finance.section_chief.0"]
    _refusal(fresh.login(fresh.browser(), person.employee_code), 401, "sso_bad_id_token")
    assert _links(fresh, person.id) == [], why


@pytest.mark.parametrize("how", ["corrupt_signature", "sign_with_stranger"])
def test_tampered_id_tokens_are_refused(fresh: Sso, how: str) -> None:
    setattr(fresh.provider, how, True)
    person = fresh.api.city.people["finance.section_chief.0"]
    _refusal(fresh.login(fresh.browser(), person.employee_code), 401, "sso_bad_id_token")
    assert fresh.audits("auth.login_refused.sso_bad_id_token")


def test_state_must_match_the_browser_that_started(fresh: Sso) -> None:
    person = fresh.api.city.people["finance.leader_in_charge.0"]
    browser = fresh.browser()
    callback = fresh.authorize(browser, fresh.start(browser), person.employee_code)
    parts = urlsplit(callback)
    query = dict(parse_qsl(parts.query))
    forged = f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode({**query, 'state': 'forged-state'})}"
    _refusal(browser.get(forged), 401, "sso_state_mismatch")
    # the callback in another browser (no attempt cookie): login CSRF refused
    _refusal(fresh.browser().get(callback), 401, "sso_state_mismatch")
    assert fresh.audits("auth.login_refused.sso_state_mismatch")


def test_a_code_is_redeemed_once(fresh: Sso) -> None:
    person = fresh.api.city.people["staffing.section_chief.0"]
    browser = fresh.browser()
    callback = fresh.authorize(browser, fresh.start(browser), person.employee_code)
    attempt = browser.cookies.get(ATTEMPT_COOKIE)
    assert browser.get(callback).status_code == 303
    replay = fresh.browser()
    replay.cookies.set(ATTEMPT_COOKIE, attempt or "", domain="127.0.0.1", path="/sso")
    _refusal(replay.get(callback), 401, "sso_code_rejected")
    assert "invalid_grant" in fresh.provider.refused


def test_a_person_with_totp_still_gives_a_code(fresh: Sso) -> None:
    person = fresh.api.city.people["office.leader_in_charge.0"]
    now = utcnow()
    with unit_of_work(fresh.engine) as session:
        secret = totp.begin_enrolment(session, person_id=person.id, username=person.username, now=now).secret
        recovery = totp.confirm_enrolment(session, person_id=person.id, code=pyotp.TOTP(secret).at(now), now=now)
    try:
        browser = fresh.browser()
        answer = fresh.login(browser, person.employee_code)
        assert answer.status_code == 303 and answer.headers["location"] == "/sso/totp"
        assert browser.get(f"{fresh.base}/api/v1/auth/me").status_code == 401, "no session before the code"
        assert "动态验证码" in browser.get(f"{fresh.base}/sso/totp").text
        wrong = browser.post(f"{fresh.base}/sso/totp", data={"totp_code": "000000"})
        assert wrong.status_code == 401 and "不正确" in wrong.text
        right = browser.post(f"{fresh.base}/sso/totp", data={"totp_code": recovery[0]})
        assert right.status_code == 303 and right.headers["location"] == "/workbench"
        assert fresh.me(browser)["person_id"] == person.id
        assert fresh.audits("auth.login_refused.bad_totp", person.id)
    finally:
        with unit_of_work(fresh.engine) as session:
            session.execute(SecondFactor.__table__.delete().where(SecondFactor.person_id == person.id))
            session.execute(update(Credential).where(Credential.person_id == person.id)
                            .values(failed_count=0, locked_until=None))


def test_the_provider_refuses_what_a_real_one_refuses(fresh: Sso) -> None:
    """Bad client secret, reused code, wrong PKCE verifier, another redirect URI: all refused at /token."""
    browser = fresh.browser()
    params = fresh.start(browser)
    redirect = params["redirect_uri"]

    def code() -> str:
        return dict(parse_qsl(urlsplit(fresh.authorize(browser, params, "E-ANY")).query))["code"]

    token = f"{fresh.idp.url}/token"

    def redeem(value: str, *, secret: str = "demo-oidc-client-secret-0123456789", verifier: str = "v" * 43,
               uri: str = redirect) -> httpx.Response:
        return httpx.post(token, auth=("xietong-demo", secret), data={
            "grant_type": "authorization_code", "code": value, "redirect_uri": uri, "code_verifier": verifier})

    bad_secret = redeem(code(), secret="guessed")
    assert bad_secret.status_code == 401 and bad_secret.json()["error"] == "invalid_client"
    assert redeem(code(), verifier="w" * 43).json()["error"] == "invalid_grant"  # not the challenge's verifier
    assert redeem(code(), uri=f"{fresh.base}/elsewhere").json()["error"] == "invalid_grant"
    unknown = httpx.get(f"{fresh.idp.url}/authorize", params={**params, "redirect_uri": "https://evil.example/cb"})
    assert unknown.status_code == 400 and "回调地址" in unknown.text  # an error page, never a redirect there


def test_a_wrong_client_secret_is_an_outage_for_people_not_a_crash(fresh: Sso) -> None:
    browser = fresh.browser()
    params = fresh.start(browser)
    callback = dict(parse_qsl(urlsplit(fresh.authorize(browser, params, "E-ANY")).query))
    wrong = fresh.settings.model_copy(update={"oidc_client_secret": "not-the-secret-at-all"})
    attempt = oidc_client.Attempt(params["state"], params["nonce"], "x" * 64)
    with httpx.Client() as client, pytest.raises(Unavailable) as refused:
        oidc_client.exchange(client, wrong, attempt=attempt, code=callback["code"], redirect_uri=params["redirect_uri"])
    assert "客户端配置" in refused.value.detail


def test_a_trusted_amr_counts_as_the_second_factor(fresh: Sso) -> None:
    person = fresh.api.city.people["office.section_chief.1"] if "office.section_chief.1" in fresh.api.city.people \
        else fresh.api.city.people["staffing.leader_in_charge.1"]
    now = utcnow()
    with unit_of_work(fresh.engine) as session:
        secret = totp.begin_enrolment(session, person_id=person.id, username=person.username, now=now).secret
        totp.confirm_enrolment(session, person_id=person.id, code=pyotp.TOTP(secret).at(now), now=now)
    fresh.app.state.settings = fresh.settings.model_copy(update={"oidc_trusted_amr": "mfa, hwk"})
    try:
        fresh.provider.amr = ["pwd"]  # the provider's own password only: still our code
        asked = fresh.login(fresh.browser(), person.employee_code)
        assert asked.status_code == 303 and asked.headers["location"] == "/sso/totp"
        fresh.provider.amr = ["pwd", "mfa"]
        browser = fresh.browser()
        trusted = fresh.login(browser, person.employee_code)
        assert trusted.status_code == 303 and trusted.headers["location"] == "/workbench"
        assert fresh.me(browser)["person_id"] == person.id
        with unit_of_work(fresh.engine) as session:
            marked = session.scalars(select(WebSession.second_factor_at).where(WebSession.person_id == person.id))
            assert any(at is not None for at in marked), "the session counts as having given the second factor"
    finally:
        fresh.app.state.settings = fresh.settings
        with unit_of_work(fresh.engine) as session:
            session.execute(SecondFactor.__table__.delete().where(SecondFactor.person_id == person.id))


def test_a_rotated_signing_key_is_fetched_once_its_id_shows_up(fresh: Sso) -> None:
    person = fresh.api.city.people["finance.head.0"]
    assert fresh.login(fresh.browser(), person.employee_code).status_code == 303  # the JWKS is cached now
    fresh.provider.rotate_key()
    browser = fresh.browser()
    assert fresh.login(browser, person.employee_code).status_code == 303
    assert fresh.me(browser)["person_id"] == person.id
