"""The OpenID Connect relying party (OpenID Connect Core 1.0, authorization-code flow with PKCE, RFC 7636).

- discovery: ``GET {issuer}/.well-known/openid-configuration`` (its ``issuer`` must equal the configured one)
  and the provider's JWKS, both cached a few minutes; a token naming a key id the cached JWKS lacks refetches it
  once (the provider rotated its keys) — a merely bad signature does not, so forged tokens cost no fetch;
- ``authorization_url``: ``response_type=code``, ``state`` and ``nonce`` (random, 32 bytes), PKCE ``S256``;
- ``exchange``: ``POST token_endpoint`` with ``grant_type=authorization_code``, the code, ``redirect_uri`` and
  ``code_verifier``, the client authenticated with ``client_secret_basic`` (``client_secret_post`` when that is
  all the provider offers);
- the ID token is verified with joserfc against the JWKS (asymmetric algorithms only: never ``none``, never an
  HMAC keyed by a public key), then ``iss``, ``aud`` (and ``azp`` with several audiences), ``exp``, ``iat``,
  ``nonce`` and ``sub``;
- the employee code is read from the ID token's claims, or else from ``userinfo`` (whose ``sub`` must match).

Failures raise ``DomainError``s with Chinese details: ``Unauthenticated`` for what the person can retry by
logging in again, ``Unavailable`` when the provider cannot be reached or answers nonsense.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from xietong.config import Settings
from xietong.errors import Unauthenticated, Unavailable

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384"]
CACHE_SECONDS = 300
LEEWAY_SECONDS = 60  # clocks of two servers drift

_cache: dict[str, tuple[float, Any]] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class Attempt:
    """What the browser carries from the redirect to the callback (in a signed cookie, see ``web/pages/sso``)."""

    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class Verified:
    issuer: str
    subject: str
    employee_code: str | None
    amr: tuple[str, ...]
    claims: dict[str, Any]


def configured(settings: Settings) -> bool:
    return settings.oidc_configured


def new_attempt() -> Attempt:
    return Attempt(secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64))


def code_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _unavailable(detail: str) -> Unavailable:
    return Unavailable(code="sso_provider_unavailable", detail=f"统一身份认证服务暂时无法使用：{detail}")


def _rejected(code: str, detail: str) -> Unauthenticated:
    return Unauthenticated(code=code, detail=detail)


def _get_json(client: httpx.Client, url: str, **kwargs: Any) -> dict[str, Any]:
    try:
        response = client.get(url, **kwargs)
    except httpx.HTTPError as exc:
        raise _unavailable(f"连接失败（{type(exc).__name__}）") from exc
    if response.status_code != 200:
        raise _unavailable(f"{url} 应答 HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError as exc:
        raise _unavailable(f"{url} 的应答不是 JSON") from exc
    if not isinstance(body, dict):
        raise _unavailable(f"{url} 的应答不是 JSON 对象")
    return body


def _cached(key: str, fetch: Any, *, fresh: bool = False) -> Any:
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and not fresh and hit[0] > time.monotonic():
        return hit[1]
    value = fetch()
    with _cache_lock:
        _cache[key] = (time.monotonic() + CACHE_SECONDS, value)
    return value


def metadata(client: httpx.Client, settings: Settings) -> dict[str, Any]:
    """The provider's discovery document (cached)."""
    issuer = (settings.oidc_issuer or "").rstrip("/")

    def fetch() -> dict[str, Any]:
        doc = _get_json(client, f"{issuer}/.well-known/openid-configuration")
        if doc.get("issuer", "").rstrip("/") != issuer:
            raise _unavailable("发现文档中的 issuer 与配置不一致")
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(doc.get(key), str) or not doc[key].startswith(("https://", "http://")):
                raise _unavailable(f"发现文档缺少 {key}")
        return doc

    return _cached(f"meta:{issuer}", fetch)  # type: ignore[no-any-return]


def _keys(client: httpx.Client, jwks_uri: str, *, fresh: bool = False) -> KeySet:
    def fetch() -> KeySet:
        try:
            return KeySet.import_key_set(_get_json(client, jwks_uri))  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise _unavailable("JWKS 无法解析") from exc

    return _cached(f"jwks:{jwks_uri}", fetch, fresh=fresh)  # type: ignore[no-any-return]


def authorization_url(client: httpx.Client, settings: Settings, *, attempt: Attempt, redirect_uri: str) -> str:
    """Where to send the browser to log in at the provider."""
    endpoint = metadata(client, settings)["authorization_endpoint"]
    query = {
        "response_type": "code", "client_id": settings.oidc_client_id, "redirect_uri": redirect_uri,
        "scope": settings.oidc_scopes, "state": attempt.state, "nonce": attempt.nonce,
        "code_challenge": code_challenge(attempt.code_verifier), "code_challenge_method": "S256",
    }
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"


def exchange(
    client: httpx.Client, settings: Settings, *, attempt: Attempt, code: str, redirect_uri: str
) -> Verified:
    """Redeem the authorization code and verify the ID token; the identity it proves."""
    meta = metadata(client, settings)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": attempt.code_verifier}
    client_id, secret = settings.oidc_client_id or "", settings.oidc_client_secret or ""
    methods = meta.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    auth: httpx.BasicAuth | None = None
    if "client_secret_basic" in methods:
        auth = httpx.BasicAuth(client_id, secret)  # RFC 6749 §2.3.1 form-encodes both first; ours are URL-safe
    else:
        form |= {"client_id": client_id, "client_secret": secret}
    try:
        response = client.post(meta["token_endpoint"], data=form, auth=auth or httpx.USE_CLIENT_DEFAULT,
                               headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise _unavailable(f"令牌端点连接失败（{type(exc).__name__}）") from exc
    body = _token_body(response)
    id_token = body.get("id_token")
    if not isinstance(id_token, str):
        raise _unavailable("令牌应答缺少 id_token")
    claims = verify_id_token(client, settings, meta=meta, id_token=id_token, nonce=attempt.nonce)
    employee_code = claims.get(settings.oidc_employee_code_claim)
    if employee_code is None and isinstance(body.get("access_token"), str) and meta.get("userinfo_endpoint"):
        info = _get_json(client, meta["userinfo_endpoint"],
                         headers={"Authorization": f"Bearer {body['access_token']}"})
        if info.get("sub") != claims["sub"]:  # Core §5.3.2: a userinfo of somebody else must not be used
            raise _rejected("sso_userinfo_mismatch", "统一身份认证的用户信息与身份令牌不一致，请重新登录")
        employee_code = info.get(settings.oidc_employee_code_claim)
    amr = claims.get("amr")
    return Verified(
        issuer=claims["iss"], subject=str(claims["sub"]),
        employee_code=str(employee_code) if isinstance(employee_code, str | int) else None,
        amr=tuple(str(value) for value in amr) if isinstance(amr, list) else (), claims=claims,
    )


def _token_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 500 or not isinstance(body, dict):
        raise _unavailable(f"令牌端点应答 HTTP {response.status_code}")
    if response.status_code != 200:
        error = str(body.get("error", ""))
        if error in ("invalid_grant", "invalid_request"):
            raise _rejected("sso_code_rejected", "登录凭据已失效或已使用，请重新登录")
        raise _unavailable(f"令牌端点拒绝了本系统（{error or response.status_code}），请联系系统管理员检查客户端配置")
    return body


def _key_id(id_token: str) -> str | None:
    try:
        header = json.loads(base64.urlsafe_b64decode(id_token.split(".")[0] + "=="))
    except (ValueError, UnicodeDecodeError):
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


def verify_id_token(
    client: httpx.Client, settings: Settings, *, meta: dict[str, Any], id_token: str, nonce: str
) -> dict[str, Any]:
    """The ID token's claims, once its signature, issuer, audience, lifetime and nonce check out."""
    bad = _rejected("sso_bad_id_token", "统一身份认证返回的身份令牌无效，请重新登录")
    keys = _keys(client, meta["jwks_uri"])
    kid = _key_id(id_token)
    if kid is not None and kid not in {key.kid for key in keys.keys}:
        keys = _keys(client, meta["jwks_uri"], fresh=True)  # the provider rotated its keys since we cached them
    try:
        token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
    except (JoseError, ValueError) as exc:
        raise bad from exc
    claims = dict(token.claims)
    registry = JWTClaimsRegistry(
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": meta["issuer"]},
        aud={"essential": True, "value": settings.oidc_client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise bad from exc
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != settings.oidc_client_id:
        raise bad
    return claims
