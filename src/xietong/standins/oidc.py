"""Stand-in for the city's OpenID provider (统一身份认证): discovery, JWKS, ``/authorize``, ``/token``, ``/userinfo``.

It checks what a real provider checks (OpenID Connect Core 1.0, RFC 6749, RFC 7636): the client id and its
registered redirect URIs at ``/authorize`` (an unknown one gets an error page, never a redirect), the client's
secret at ``/token`` (HTTP Basic or form fields), each code once and for 60 seconds, the ``redirect_uri`` equal to
the one the code was issued for, the PKCE verifier against the ``S256`` challenge, the access token at
``/userinfo``. ID tokens are signed RS256 with a key generated when the app is built; its JWKS publishes it.

Its "directory" is ``Provider.people`` (employee code → name); the log-in form picks one of them (or takes any
employee code typed in, as a provider knows people the city's directory may not). Unset, it holds the demo
city's named log-ins. ``Provider.rotate_key()`` replaces the signing key (a new key id) as a provider's rotation does.
``Provider.tamper`` lets a test make the provider misbehave the ways a relying party must
catch: claims overridden (``aud``, ``nonce``, ``exp``, ``iss``…), ``sign_with_stranger`` signing with a key not in
the JWKS, ``corrupt_signature`` flipping the signature's bytes.

Simplified: no consent screen, no sessions of its own (every ``/authorize`` shows the form), no refresh tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.jwk import RSAKey

from xietong.standins import STANDINS, StandIn

CLIENT_ID, CLIENT_SECRET = "xietong-demo", "demo-oidc-client-secret-0123456789"
CODE_SECONDS = 60
TOKEN_SECONDS = 300


@dataclass
class Client:
    secret: str
    redirect_uris: tuple[str, ...] = ()  # empty: any URI ending in /sso/callback (the demo's host is not known)

    def allows(self, uri: str) -> bool:
        if self.redirect_uris:
            return uri in self.redirect_uris
        return uri.startswith(("http://", "https://")) and uri.split("?")[0].endswith("/sso/callback")


@dataclass
class Provider:
    clients: dict[str, Client] = field(default_factory=lambda: {CLIENT_ID: Client(CLIENT_SECRET)})
    people: dict[str, str] | None = None  # employee code → name
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)  # access token → claims for /userinfo
    tamper: dict[str, Any] = field(default_factory=dict)  # claims overriding the ID token's
    sign_with_stranger: bool = False
    corrupt_signature: bool = False
    code_claim_in_id_token: bool = True  # False: the employee code only at /userinfo
    amr: list[str] = field(default_factory=lambda: ["pwd"])
    refused: list[str] = field(default_factory=list)  # the error of each refused call, for a test to look at
    key: RSAKey | None = None  # the signing key, published in the JWKS (made when the app is built)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def rotate_key(self) -> None:
        """A new signing key with a new key id replaces the old one in the JWKS (as a provider's rotation does)."""
        self.key = _new_key()


def _new_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8), "use": "sig", "alg": "RS256"})


def subject_of(employee_code: str) -> str:
    """A provider's own stable, opaque id for a person (not the employee code)."""
    return "u-" + hashlib.sha256(f"standin:{employee_code}".encode()).hexdigest()[:20]


def _demo_people() -> dict[str, str]:
    from xietong.demo.city import DEMO_LOGINS, build_city

    return {p.employee_code: f"{p.name}（{p.title}）" for p in build_city().people if p.username in DEMO_LOGINS}


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"></head>'
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>", status_code=status,
    )


def make_app(state: Provider | None = None) -> FastAPI:
    s = state or Provider()
    s.key = s.key or _new_key()
    stranger = _new_key()  # signs with the published key's id, never published itself
    app = FastAPI(title="统一身份认证（本地替身）")
    app.state.provider = s

    def issuer(request: Request) -> str:
        """This provider's URL: where it is served, under the mount path when the demo mounts it."""
        return str(request.base_url.replace(path=request.scope.get("root_path", ""))).rstrip("/")

    def refuse(error: str, description: str, status: int = 400) -> JSONResponse:
        with s.lock:
            s.refused.append(error)
        return JSONResponse({"error": error, "error_description": description}, status_code=status,
                            headers={"Cache-Control": "no-store"})

    @app.get("/.well-known/openid-configuration")
    def discovery(request: Request) -> dict[str, Any]:
        base = issuer(request)
        return {
            "issuer": base, "authorization_endpoint": f"{base}/authorize", "token_endpoint": f"{base}/token",
            "userinfo_endpoint": f"{base}/userinfo", "jwks_uri": f"{base}/jwks",
            "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "profile"], "claims_supported": ["sub", "name", "employee_code"],
        }

    @app.get("/jwks")
    def jwks() -> dict[str, Any]:
        assert s.key is not None
        return {"keys": [s.key.as_dict(private=False)]}

    def check_authorize(params: dict[str, str]) -> HTMLResponse | str | None:
        """An error page (bad client or redirect URI), an error to redirect with, or None."""
        client = s.clients.get(params.get("client_id", ""))
        if client is None or not client.allows(params.get("redirect_uri", "")):
            return _page("登录请求无效", "<p>未注册的客户端或回调地址（invalid client / redirect_uri）。</p>", 400)
        if params.get("response_type") != "code":
            return "unsupported_response_type"
        if "openid" not in params.get("scope", "").split():
            return "invalid_scope"
        if params.get("code_challenge_method") != "S256" or len(params.get("code_challenge", "")) != 43:
            return "invalid_request"
        return None

    def redirect_error(params: dict[str, str], error: str) -> RedirectResponse:
        with s.lock:
            s.refused.append(error)
        query = urlencode({"error": error, "state": params.get("state", "")})
        return RedirectResponse(f"{params['redirect_uri']}?{query}", status_code=303)

    @app.get("/authorize")
    def authorize_form(request: Request) -> Response:
        params = dict(request.query_params)
        problem = check_authorize(params)
        if isinstance(problem, HTMLResponse):
            return problem
        if problem is not None:
            return redirect_error(params, problem)
        if s.people is None:
            s.people = _demo_people()
        hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in params.items())
        options = "".join(f'<option value="{escape(code)}">{escape(code)} {escape(name)}</option>'
                          for code, name in sorted(s.people.items()))
        body = (
            "<p>本地替身：选择一位演示人员（按工号）登录，或输入任意工号。</p>"
            f'<form method="post" action="authorize">{hidden}'
            f'<p><label for="person">演示人员</label><br><select id="person" name="person">{options}'
            '<option value="">（使用下面输入的工号）</option></select></p>'
            '<p><label for="employee_code">或输入工号</label><br>'
            '<input id="employee_code" name="employee_code" maxlength="40"></p>'
            '<p><button type="submit">登录</button></p></form>'
        )
        return _page("统一身份认证（本地替身）", body)

    @app.post("/authorize")
    async def authorize(request: Request, person: str = Form(""), employee_code: str = Form("")) -> Response:
        form = await request.form()
        params = {k: str(v) for k, v in form.items() if k not in ("person", "employee_code")}
        problem = check_authorize(params)
        if isinstance(problem, HTMLResponse):
            return problem
        if problem is not None:
            return redirect_error(params, problem)
        chosen = (employee_code.strip() or person).strip()
        if not chosen:
            return redirect_error(params, "access_denied")
        code = secrets.token_urlsafe(24)
        with s.lock:
            s.codes[code] = {**params, "employee_code": chosen, "expires": time.time() + CODE_SECONDS,
                             "auth_time": int(time.time())}
        query = urlencode({"code": code, "state": params.get("state", "")})
        return RedirectResponse(f"{params['redirect_uri']}?{query}", status_code=303)

    def client_of(request: Request, form: dict[str, str]) -> str | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        client = s.clients.get(client_id)
        if client is None or not hmac.compare_digest(secret.encode(), client.secret.encode()):
            return None
        return client_id

    @app.post("/token")
    async def token(request: Request) -> JSONResponse:
        form = {k: str(v) for k, v in (await request.form()).items()}
        client_id = client_of(request, form)
        if client_id is None:
            return refuse("invalid_client", "client authentication failed", 401)
        if form.get("grant_type") != "authorization_code":
            return refuse("unsupported_grant_type", "only authorization_code")
        with s.lock:
            grant = s.codes.pop(form.get("code", ""), None)  # a code is good once, whatever happens next
        if grant is None or grant["expires"] < time.time() or grant["client_id"] != client_id:
            return refuse("invalid_grant", "code unknown, used, expired or of another client")
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return refuse("invalid_grant", "redirect_uri differs from the authorization request")
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not 43 <= len(verifier) <= 128 or not hmac.compare_digest(challenge, grant["code_challenge"]):
            return refuse("invalid_grant", "PKCE verification failed")
        return JSONResponse(issue(request, client_id, grant), headers={"Cache-Control": "no-store"})

    def issue(request: Request, client_id: str, grant: dict[str, Any]) -> dict[str, Any]:
        now = int(time.time())
        code = grant["employee_code"]
        profile = {"sub": subject_of(code), "name": (s.people or {}).get(code, code), "employee_code": code}
        claims: dict[str, Any] = {
            "iss": issuer(request), "aud": client_id, "iat": now, "exp": now + TOKEN_SECONDS,
            "auth_time": grant["auth_time"], "amr": s.amr, **profile,
        }
        if grant.get("nonce"):
            claims["nonce"] = grant["nonce"]
        if not s.code_claim_in_id_token:
            claims.pop("employee_code")
        claims.update(s.tamper)
        key = s.key
        assert key is not None
        signer = stranger if s.sign_with_stranger else key
        id_token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, signer)
        if s.corrupt_signature:
            head, body, signature = id_token.split(".")
            id_token = f"{head}.{body}.{signature[::-1]}"
        access = secrets.token_urlsafe(32)
        with s.lock:
            s.tokens[access] = {**profile, "expires": now + TOKEN_SECONDS}
        return {"access_token": access, "token_type": "Bearer", "expires_in": TOKEN_SECONDS, "id_token": id_token}

    @app.get("/userinfo")
    def userinfo(request: Request) -> JSONResponse:
        header = request.headers.get("authorization", "")
        with s.lock:
            profile = s.tokens.get(header[7:]) if header.startswith("Bearer ") else None
        if profile is None or profile["expires"] < time.time():
            return JSONResponse({"error": "invalid_token"}, status_code=401,
                                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return JSONResponse({k: v for k, v in profile.items() if k != "expires"})

    return app


def settings_for(base_url: str) -> dict[str, Any]:
    return {"oidc_issuer": base_url, "oidc_client_id": CLIENT_ID, "oidc_client_secret": CLIENT_SECRET}


STANDINS["oidc"] = StandIn("oidc", make_app, settings_for)
