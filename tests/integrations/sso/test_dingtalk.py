"""免登: the in-app page posts the messaging app's one-time auth code; the server exchanges it with the messaging
stand-in over loopback HTTP (getuserinfo → userid, user/get → 工号) and opens a session for the linked person."""

from __future__ import annotations

import re
import time

import httpx

from tests.integrations.sso.conftest import Sso


def _code(sso: Sso, employee_code: str) -> str:
    """What the app's JS API hands the page (the stand-in's stand-in for it)."""
    answer = httpx.post(f"{sso.platform.url}/demo/authcode", json={"employee_code": employee_code})
    assert answer.status_code == 200, answer.text
    return answer.json()["code"]  # type: ignore[no-any-return]


def _post(sso: Sso, browser: httpx.Client, data: dict[str, str]) -> httpx.Response:
    """What the in-app page does: open it (its cookie and the form's nonce), then post the code with the nonce."""
    page = browser.get(f"{sso.base}/sso/dingtalk")
    nonce = re.search(r'name="nonce" value="([^"]+)"', page.text)
    assert page.status_code == 200 and nonce is not None, page.text[:300]
    return browser.post(f"{sso.base}/sso/dingtalk", data={**data, "nonce": nonce.group(1)})


def test_a_code_posted_without_the_pages_nonce_is_refused(sso: Sso) -> None:
    """Log-in CSRF: a code sent from elsewhere (a link, another site's form) would log the victim in as the
    code's owner; only the page's own form, matching this browser's cookie, is taken."""
    person = sso.api.city.people["finance.head.0"]
    browser = sso.browser()
    forged = browser.post(f"{sso.base}/sso/dingtalk", data={"code": _code(sso, person.employee_code)})
    assert forged.status_code == 401 and 'data-code="sso_state_mismatch"' in forged.text
    browser.get(f"{sso.base}/sso/dingtalk")  # the cookie alone is not enough either
    guessed = browser.post(f"{sso.base}/sso/dingtalk", data={"code": _code(sso, person.employee_code),
                                                           "nonce": "guess"})
    assert guessed.status_code == 401
    assert browser.get(f"{sso.base}/api/v1/auth/me").status_code == 401


def test_a_good_code_logs_the_linked_person_in(sso: Sso) -> None:
    person = sso.api.city.people["finance.clerk.2"] if "finance.clerk.2" in sso.api.city.people \
        else sso.api.city.people["finance.head.0"]
    browser = sso.browser()
    page = browser.get(f"{sso.base}/sso/dingtalk")
    assert page.status_code == 200 and "浙政钉免登" in page.text and 'src="/static/js/dingtalk.js"' in page.text
    answer = _post(sso, browser, {"code": _code(sso, person.employee_code),
                                                          "next": "/matters"})
    assert answer.status_code == 303 and answer.headers["location"] == "/matters"
    assert sso.me(browser)["person_id"] == person.id
    linked = sso.audits("auth.sso_linked", person.id)
    assert [r.detail["subject"] for r in linked] == [f"dt-{person.employee_code}"]
    assert linked[0].detail["method"] == "dingtalk"
    # the next day's code follows the link
    later = sso.browser()
    assert _post(sso, later, {"code": _code(sso, person.employee_code)}).status_code == 303
    assert sso.me(later)["person_id"] == person.id
    assert len(sso.audits("auth.sso_linked", person.id)) == 1


def test_a_reused_code_is_refused(sso: Sso) -> None:
    person = sso.api.city.people["staffing.leader_in_charge.0"]
    code = _code(sso, person.employee_code)
    assert _post(sso, sso.browser(), {"code": code}).status_code == 303
    again = sso.browser()
    reused = _post(sso, again, {"code": code})
    assert reused.status_code == 401 and 'data-code="sso_code_rejected"' in reused.text
    assert again.get(f"{sso.base}/api/v1/auth/me").status_code == 401


def test_expired_and_unknown_codes_are_refused(sso: Sso) -> None:
    person = sso.api.city.people["staffing.head.0"]
    code = _code(sso, person.employee_code)
    with sso.messaging.lock:
        employee_code, _ = sso.messaging.authcodes[code]
        sso.messaging.authcodes[code] = (employee_code, time.time() - 1)  # five minutes later
    expired = _post(sso, sso.browser(), {"code": code})
    assert expired.status_code == 401 and 'data-code="sso_code_rejected"' in expired.text
    unknown = _post(sso, sso.browser(), {"code": "made-up-code"})
    assert unknown.status_code == 401 and 'data-code="sso_code_rejected"' in unknown.text
    empty = _post(sso, sso.browser(), {"code": ""})
    assert empty.status_code == 401 and 'data-code="sso_no_code"' in empty.text
    assert len(sso.audits("auth.login_refused.sso_code_rejected")) >= 2


def test_an_app_user_matching_nobody_is_refused(sso: Sso) -> None:
    answer = _post(sso, sso.browser(), {"code": _code(sso, "E-NOT-IN-DIRECTORY")})
    assert answer.status_code == 403 and 'data-code="sso_no_person"' in answer.text


def test_the_platform_down_is_a_clear_page(sso: Sso) -> None:
    code = _code(sso, sso.api.city.people["office.head.0"].employee_code)
    sso.messaging.down = True
    try:
        answer = _post(sso, sso.browser(), {"code": code})
    finally:
        sso.messaging.down = False
    assert answer.status_code == 503 and 'data-code="sso_provider_unavailable"' in answer.text


def test_the_phone_clients_api_exchanges_a_code_for_a_session(sso: Sso) -> None:
    person = sso.api.city.people["hr_social.section_chief.0"]
    client = sso.browser()
    answer = client.post(f"{sso.base}/api/v1/auth/sso/dingtalk", json={"code": _code(sso, person.employee_code)})
    assert answer.status_code == 200, answer.text
    assert answer.json()["person_id"] == person.id and answer.json()["csrf_token"]
    assert sso.me(client)["person_id"] == person.id
    reused = sso.browser().post(f"{sso.base}/api/v1/auth/sso/dingtalk", json={"code": "made-up-code"})
    assert reused.status_code == 401 and reused.headers["content-type"].startswith("application/problem+json")
    assert reused.json()["code"] == "sso_code_rejected"
    nobody = sso.browser().post(f"{sso.base}/api/v1/auth/sso/dingtalk", json={"code": _code(sso, "E-NOBODY-9")})
    assert nobody.status_code == 403 and nobody.json()["code"] == "sso_no_person"
    empty = sso.browser().post(f"{sso.base}/api/v1/auth/sso/dingtalk", json={"code": ""})
    assert empty.status_code == 422
