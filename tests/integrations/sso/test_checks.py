"""``xietong check`` reports single sign-on's configuration: passwords switched off with no provider or no
break-glass administrator, a provider over plain HTTP, or (outside the demo) no registered callback URL are
failures; the last also stops the app starting."""

from __future__ import annotations

from xietong.config import Settings
from xietong.system.health import redirect_problem, sso_check

SECRET = "a-configured-secret-of-forty-characters-xx"
IDP = {"oidc_issuer": "https://idp.city.example", "oidc_client_id": "xietong", "oidc_client_secret": "s" * 32,
       "oidc_redirect_uri": "https://xt.city.example/sso/callback"}


def _check(**values: object) -> tuple[bool, str] | None:
    found = sso_check(Settings(secret_key=SECRET, **values))  # type: ignore[arg-type]
    return None if found is None else (found.ok, found.detail)


def test_nothing_to_report_without_sso() -> None:
    assert _check() is None


def test_passwords_off_needs_a_provider_and_a_break_glass_administrator() -> None:
    no_idp = _check(password_login=False, password_break_glass="root")
    assert no_idp is not None and not no_idp[0] and "未配置统一身份认证" in no_idp[1]
    nobody = _check(password_login=False, **IDP)
    assert nobody is not None and not nobody[0] and "无人能登录" in nobody[1]
    good = _check(password_login=False, password_break_glass="root", **IDP)
    assert good == (True, "统一身份认证：https://idp.city.example；密码登录已关闭")


def test_the_provider_must_be_https_outside_the_demo() -> None:
    plain = _check(**{**IDP, "oidc_issuer": "http://idp.city.example"})
    assert plain is not None and not plain[0] and "https" in plain[1]
    assert _check(demo=True, **{**IDP, "oidc_issuer": "http://127.0.0.1:8000/standins/oidc"}) is not None


def test_outside_the_demo_the_callback_is_configured_never_taken_from_the_host_header() -> None:
    unset = _check(**{**IDP, "oidc_redirect_uri": None})
    assert unset is not None and not unset[0] and "XIETONG_OIDC_REDIRECT_URI" in unset[1]
    plain = _check(**{**IDP, "oidc_redirect_uri": "http://xt.city.example/sso/callback"})
    assert plain is not None and not plain[0] and "https" in plain[1]
    refusals = redirect_problem(Settings(secret_key=SECRET, **{**IDP, "oidc_redirect_uri": None}))  # type: ignore[arg-type]
    assert refusals is not None and "回调地址" in refusals  # production_refusals: the app does not start
    assert redirect_problem(Settings(secret_key=SECRET, demo=True, **{**IDP, "oidc_redirect_uri": None})) is None  # type: ignore[arg-type]
