"""What the e-seal and e-archive stand-ins share: both sit behind the government API gateway, so a call is
first checked for the gateway's HMAC-SM3 signature (``integrations/gateway.py``), then for a JSON body; refusals
are ``{"code", "msg"}`` with the HTTP status the real gateway uses."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse

from xietong.integrations import gateway


def refuse(status: int, code: int, msg: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"code": code, "msg": msg, **extra}, status_code=status)


def signed_body(headers: Mapping[str, str], raw: bytes, apps: dict[str, str], nonces: set[str]) -> Any:
    """The JSON of a correctly signed call, or the refusal (a ``JSONResponse``) to answer with. Call it under the
    stand-in's lock: the nonce is recorded in ``nonces``."""
    refused = gateway.check(dict(headers), raw, apps, nonces)
    if refused is not None:
        return refuse(401, 40101, refused)
    try:
        return json.loads(raw)
    except ValueError:
        return refuse(400, 40001, "请求格式错误")
