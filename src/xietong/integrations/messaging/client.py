"""The messaging open API client (DingTalk's documented shapes; 浙政钉 follows the same pattern).

- access token: ``GET /gettoken?appkey=…&appsecret=…`` → ``access_token``, ``expires_in`` (cached per app until
  a minute before it runs out; an ``errcode`` 40014/42001 drops it and the message is retried);
- work notice: ``POST /topapi/message/corpconversation/asyncsend_v2?access_token=…`` with ``agent_id``,
  ``userid_list`` and ``msg``, plus ``msg_uuid`` — our stable message id, so a retry never notifies twice;
- to-do: ``POST /v1.0/todo/users/{unionId}/tasks`` (header ``x-acs-dingtalk-access-token``) with ``sourceId``,
  ``subject``, ``executorIds``; finishing and cancelling address the to-do by that ``sourceId``
  (``PUT``/``DELETE …/tasks/sources/{sourceId}``) — a simplification: DingTalk addresses them by the id it
  returned on creation;
- group robot: ``POST /robot/send?access_token=…&timestamp=…&sign=…`` where ``sign`` is
  base64(HMAC-SHA256(secret, ``timestamp + "\\n" + secret``)), URL-encoded; ``msgUuid`` carries our id.

People are named by employee code (工号); the messaging system maps it to its own user id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from typing import Any
from urllib.parse import quote_plus

import httpx

from xietong.config import Settings
from xietong.integrations.channels import Refused, Unavailable, reply_json

TOKEN_EXPIRED = {40014, 42001}
BUSY = {-1, 88}

_tokens: dict[tuple[str, str], tuple[str, float]] = {}
_tokens_lock = threading.Lock()


def robot_sign(secret: str, timestamp_ms: int) -> str:
    """The group robot's ``sign`` query value (already URL-encoded)."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def checked(response: httpx.Response, *, app: tuple[str, str] | None = None) -> dict[str, Any]:
    """The open API's JSON answer, its ``errcode`` sorted into retry (busy, an expired token — dropped from the
    cache when ``app`` names it) and refusal."""
    body = reply_json(response)
    code = body.get("errcode", 0)
    if not isinstance(code, int):
        raise Refused(f"应答的 errcode 不是整数：{str(body)[:200]}")
    if code in TOKEN_EXPIRED and app is not None:
        with _tokens_lock:
            _tokens.pop(app, None)
        raise Unavailable(f"访问令牌已失效（{code}），重新获取后重试")
    if code in BUSY:
        raise Unavailable(f"消息系统繁忙（{code}）：{body.get('errmsg', '')}")
    if code != 0:
        raise Refused(f"消息系统拒绝（{code}）：{body.get('errmsg', '')}")
    return body


def request(client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One call to the open API; not reaching it at all is ``Unavailable`` (retried)."""
    try:
        return client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise Unavailable(f"连不上消息系统：{exc}") from exc


def access_token(client: httpx.Client, settings: Settings) -> tuple[str, tuple[str, str]]:
    """The app's access token (cached), and the cache key that drops it."""
    base, key, secret = settings.messaging_url or "", settings.messaging_app_key or "", settings.messaging_app_secret
    app = (base, key)
    with _tokens_lock:
        cached = _tokens.get(app)
    if cached and cached[1] > time.monotonic():
        return cached[0], app
    body = checked(request(client, "GET", f"{base}/gettoken", params={"appkey": key, "appsecret": secret or ""}))
    token, expires = body.get("access_token"), body.get("expires_in", 7200)
    if not isinstance(token, str) or not token or not isinstance(expires, int):
        raise Refused(f"令牌应答缺少 access_token 或 expires_in：{str(body)[:200]}")
    with _tokens_lock:
        _tokens[app] = (token, time.monotonic() + max(expires - 60, 0))
    return token, app


def send_work_notice(client: httpx.Client, settings: Settings, *, message_id: str, employee_codes: list[str],
                     title: str, text: str) -> dict[str, Any]:
    token, app = access_token(client, settings)
    body = {
        "agent_id": settings.messaging_agent_id,
        "userid_list": ",".join(employee_codes),
        "msg": {"msgtype": "markdown", "markdown": {"title": title, "text": text}},
        "msg_uuid": message_id,
    }
    reply = checked(request(client, "POST", f"{settings.messaging_url}/topapi/message/corpconversation/asyncsend_v2",
                              params={"access_token": token}, json=body), app=app)
    if "task_id" not in reply:
        raise Refused(f"工作通知应答缺少 task_id：{str(reply)[:200]}")
    return reply


def _todo_url(settings: Settings, tail: str = "") -> str:
    return f"{settings.messaging_url}/v1.0/todo/users/{quote_plus(settings.messaging_todo_operator)}/tasks{tail}"


def create_todo(client: httpx.Client, settings: Settings, *, source_id: str, employee_codes: list[str],
                subject: str, description: str, url: str | None) -> dict[str, Any]:
    token, app = access_token(client, settings)
    body: dict[str, Any] = {"sourceId": source_id, "subject": subject, "description": description,
                            "executorIds": employee_codes}
    if url:
        body["detailUrl"] = {"appUrl": url, "pcUrl": url}
    reply = checked(request(client, "POST", _todo_url(settings), json=body,
                              headers={"x-acs-dingtalk-access-token": token}), app=app)
    if not isinstance(reply.get("id"), str):
        raise Refused(f"待办应答缺少 id：{str(reply)[:200]}")
    return reply


def finish_todo(client: httpx.Client, settings: Settings, *, source_id: str, cancelled: bool) -> dict[str, Any]:
    """Mark the to-do done (办理了) or delete it (撤回、取消了)."""
    token, app = access_token(client, settings)
    url = _todo_url(settings, f"/sources/{quote_plus(source_id)}")
    headers = {"x-acs-dingtalk-access-token": token}
    if cancelled:
        response = request(client, "DELETE", url, headers=headers)
    else:
        response = request(client, "PUT", url, headers=headers, json={"done": True})
    reply = checked(response, app=app)
    if reply.get("result") is not True:
        raise Refused(f"待办应答缺少 result：{str(reply)[:200]}")
    return reply


def send_robot(client: httpx.Client, settings: Settings, *, message_id: str, text: str,
               now_ms: int | None = None) -> dict[str, Any]:
    secret, token = settings.messaging_robot_secret or "", settings.messaging_robot_token or ""
    timestamp = now_ms if now_ms is not None else int(time.time() * 1000)
    # ``sign`` is URL-encoded already: put it in the query by hand so httpx does not encode it twice.
    url = f"{settings.messaging_url}/robot/send?access_token={quote_plus(token)}&timestamp={timestamp}" \
          f"&sign={robot_sign(secret, timestamp)}"
    body = {"msgtype": "text", "text": {"content": text}, "msgUuid": message_id}
    return checked(request(client, "POST", url, json=body))
