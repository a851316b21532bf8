"""免登: the messaging app's in-app code exchange (DingTalk's documented shapes; 浙政钉 follows the same pattern).

The page inside the app asks the JS API for a one-time auth code (``dd.runtime.permission.requestAuthCode`` /
``dd.getAuthCode``) and posts it to us; we then call, with the app's access token:

- ``POST /topapi/v2/user/getuserinfo?access_token=…`` ``{"code": …}`` → ``result.userid`` (and ``unionid``) —
  the code is good once, for five minutes; an unknown, used or expired one is refused (``errcode`` 40078);
- ``POST /topapi/v2/user/get?access_token=…`` ``{"userid": …}`` → ``result.job_number``, the employee code
  (工号) the first log-in links by.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from xietong.config import Settings
from xietong.errors import Unauthenticated, Unavailable
from xietong.integrations.channels import Refused
from xietong.integrations.channels import Unavailable as ChannelUnavailable
from xietong.integrations.messaging.client import access_token, checked, request

BAD_CODE = {40078, 40079}  # 不存在的临时授权码 / 临时授权码已被使用


@dataclass(frozen=True)
class AppUser:
    issuer: str  # what our links name the platform by
    userid: str
    employee_code: str | None


def issuer(settings: Settings) -> str:
    return f"messaging:{settings.messaging_corp_id or settings.messaging_app_key}"


def configured(settings: Settings) -> bool:
    return bool(settings.messaging_url and settings.messaging_app_key and settings.messaging_app_secret)


def exchange_code(client: httpx.Client, settings: Settings, *, code: str) -> AppUser:
    """The app user an auth code stands for, with their employee code."""
    try:
        token, app = access_token(client, settings)
        url = f"{settings.messaging_url}/topapi/v2/user/getuserinfo"
        reply = request(client, "POST", url, params={"access_token": token}, json={"code": code})
        try:
            info = checked(reply, app=app)
        except Refused as exc:
            if _errcode(reply) in BAD_CODE:
                raise Unauthenticated(code="sso_code_rejected",
                                      detail="免登授权码无效、已使用或已过期，请重新进入应用") from exc
            raise
        userid = (info.get("result") or {}).get("userid")
        if not isinstance(userid, str) or not userid:
            raise Refused(f"免登应答缺少 userid：{str(info)[:200]}")
        detail = checked(request(client, "POST", f"{settings.messaging_url}/topapi/v2/user/get",
                                   params={"access_token": token}, json={"userid": userid}), app=app)
    except (Refused, ChannelUnavailable) as exc:
        raise Unavailable(code="sso_provider_unavailable", detail=f"消息平台暂时无法完成免登：{exc}") from exc
    job_number = (detail.get("result") or {}).get("job_number")
    return AppUser(issuer(settings), userid, job_number if isinstance(job_number, str) and job_number else None)


def _errcode(response: httpx.Response) -> int | None:
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("errcode") if isinstance(body, dict) else None
    return code if isinstance(code, int) else None
