"""Stand-in for the 浙政钉 / DingTalk open API: token, work notices, to-dos, a signed group robot and 免登.

It checks what the real system checks — app key and secret, access tokens, the agent id, the robot's signature
and its one-hour timestamp window, required fields — and answers with DingTalk's error shapes (``errcode`` and
``errmsg`` for the ``topapi`` calls, HTTP 4xx with ``code``/``message`` for ``/v1.0``). It de-duplicates by our
message ids (``msg_uuid``, ``sourceId``, ``msgUuid``) and counts the duplicates it swallowed, so a test can see
that a retry never notified twice. Employee codes map to its own user ids (``dt-<code>``); ``unknown`` codes —
those in ``Messaging.unknown`` — are refused like DingTalk refuses an unknown user id.

免登: ``POST /demo/authcode`` (or the little form at ``GET /demo/authcode``) stands for the app's JS API and hands
out a one-time auth code for an employee code; ``/topapi/v2/user/getuserinfo`` takes it once, within five minutes
(unknown, used and expired codes answer ``errcode`` 40078 like DingTalk), and ``/topapi/v2/user/get`` gives the
user's ``job_number`` (工号).

``Messaging.down`` makes every call answer 503 and ``Messaging.junk`` answer a body that is not JSON: the
outside system down, then back, and a malformed reply.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response

from xietong.standins import STANDINS, StandIn

APP_KEY, APP_SECRET, AGENT_ID = "xietong-demo", "demo-app-secret-0123456789", "10001"
ROBOT_TOKEN, ROBOT_SECRET = "demo-robot-token", "SECdemo-robot-secret-0123456789"
WINDOW_MS = 3_600_000  # DingTalk refuses a robot call whose timestamp is more than an hour off
CORP_ID = "ding-demo-corp"
AUTH_CODE_SECONDS = 300  # a 免登 code is good for five minutes, once


@dataclass
class Messaging:
    tokens: set[str] = field(default_factory=set)
    notices: dict[str, dict[str, Any]] = field(default_factory=dict)  # msg_uuid → body
    todos: dict[str, dict[str, Any]] = field(default_factory=dict)  # sourceId → to-do (with done / deleted)
    robot: dict[str, dict[str, Any]] = field(default_factory=dict)  # msgUuid → body
    duplicates: int = 0
    calls: int = 0
    unknown: set[str] = field(default_factory=set)
    down: bool = False
    junk: bool = False
    authcodes: dict[str, tuple[str, float]] = field(default_factory=dict)  # code → (employee code, expires)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _err(code: int, message: str) -> JSONResponse:
    return JSONResponse({"errcode": code, "errmsg": message})


def _v1_err(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "requestid": secrets.token_hex(8)}, status_code=status)


def make_app(state: Messaging | None = None) -> FastAPI:
    s = state or Messaging()
    app = FastAPI(title="浙政钉开放平台（本地替身）")
    app.state.messaging = s

    @app.middleware("http")
    async def outages(request: Request, call_next: Any) -> Response:
        with s.lock:
            s.calls += 1
        if s.down:
            return PlainTextResponse("service unavailable", status_code=503)
        if s.junk:
            return PlainTextResponse("<html>gateway</html>", status_code=200)
        response: Response = await call_next(request)
        return response

    @app.get("/gettoken")
    def gettoken(appkey: str = "", appsecret: str = "") -> JSONResponse:
        if not hmac.compare_digest(appkey, APP_KEY) or not hmac.compare_digest(appsecret, APP_SECRET):
            return _err(40089, "不合法的corpid或corpsecret")
        token = secrets.token_hex(16)
        with s.lock:
            s.tokens.add(token)
        return JSONResponse({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200})

    def users(codes: Any) -> list[str] | None:
        if not isinstance(codes, list) or not codes or not all(isinstance(c, str) and c for c in codes):
            return None
        if any(c in s.unknown for c in codes):
            return None
        return [f"dt-{c}" for c in codes]

    @app.post("/topapi/message/corpconversation/asyncsend_v2")
    async def asyncsend(request: Request, access_token: str = "") -> JSONResponse:
        if access_token not in s.tokens:
            return _err(40014, "不合法的access_token")
        body = await request.json()
        if str(body.get("agent_id")) != AGENT_ID:
            return _err(40056, "不合法的agentid")
        userids = users(str(body.get("userid_list") or "").split(","))
        if userids is None:
            return _err(33012, "无效的USERID")
        msg = body.get("msg") or {}
        if msg.get("msgtype") not in ("text", "markdown", "oa", "link", "action_card") or msg["msgtype"] not in msg:
            return _err(40035, "缺少参数 msg")
        uuid = body.get("msg_uuid") or secrets.token_hex(8)
        with s.lock:
            if uuid in s.notices:
                s.duplicates += 1
            else:
                s.notices[uuid] = {**body, "userids": userids, "task_id": 1000 + len(s.notices)}
            task_id = s.notices[uuid]["task_id"]
        return JSONResponse({"errcode": 0, "errmsg": "ok", "task_id": task_id, "request_id": secrets.token_hex(6)})

    def v1_token(request: Request) -> bool:
        return request.headers.get("x-acs-dingtalk-access-token", "") in s.tokens

    @app.post("/v1.0/todo/users/{union_id}/tasks")
    async def create_todo(union_id: str, request: Request) -> JSONResponse:
        if not v1_token(request):
            return _v1_err(401, "InvalidAuthentication", "不合法的access_token")
        body = await request.json()
        source, subject = body.get("sourceId"), body.get("subject")
        executors = users(body.get("executorIds"))
        if not isinstance(source, str) or not source or not isinstance(subject, str) or not subject:
            return _v1_err(400, "MissingParameter", "缺少 sourceId 或 subject")
        if executors is None:
            return _v1_err(400, "InvalidParameter.ExecutorIds", "无效的执行者")
        with s.lock:
            if source in s.todos:
                s.duplicates += 1
            else:
                s.todos[source] = {**body, "id": f"todo-{len(s.todos) + 1}", "creator": union_id,
                                   "executors": executors, "done": False, "deleted": False}
            todo = s.todos[source]
        return JSONResponse({"id": todo["id"], "sourceId": source, "subject": todo["subject"], "done": todo["done"]})

    @app.api_route("/v1.0/todo/users/{union_id}/tasks/sources/{source_id}", methods=["PUT", "DELETE"])
    async def change_todo(union_id: str, source_id: str, request: Request) -> JSONResponse:
        if not v1_token(request):
            return _v1_err(401, "InvalidAuthentication", "不合法的access_token")
        body = await request.json() if request.method == "PUT" else {}  # never await holding the lock
        if request.method == "PUT" and not isinstance(body.get("done"), bool):
            return _v1_err(400, "MissingParameter", "缺少 done")
        with s.lock:
            todo = s.todos.get(source_id)
            if todo is None:
                return _v1_err(404, "todoNotExist", "待办不存在")
            if request.method == "DELETE":
                s.duplicates += todo["deleted"]
                todo["deleted"] = True
            else:
                s.duplicates += todo["done"] == body["done"]
                todo["done"] = body["done"]
        return JSONResponse({"result": True})

    @app.post("/robot/send")
    async def robot(request: Request, access_token: str = "", timestamp: str = "", sign: str = "") -> JSONResponse:
        if access_token != ROBOT_TOKEN:
            return _err(300001, "token is not exist")
        if not timestamp.isdigit() or abs(int(timestamp) - int(time.time() * 1000)) > WINDOW_MS:
            return _err(310000, "invalid timestamp")
        expected = base64.b64encode(hmac.new(ROBOT_SECRET.encode(), f"{timestamp}\n{ROBOT_SECRET}".encode(),
                                             hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(sign, expected):  # FastAPI has URL-decoded the query value already
            return _err(310000, "sign not match")
        body = await request.json()
        if body.get("msgtype") != "text" or not (body.get("text") or {}).get("content"):
            return _err(400101, "msgtype or content is empty")
        uuid = body.get("msgUuid") or secrets.token_hex(8)
        with s.lock:
            if uuid in s.robot:
                s.duplicates += 1
            else:
                s.robot[uuid] = body
        return _err(0, "ok")

    _login_routes(app, s)

    @app.get("/")
    def received() -> dict[str, Any]:
        """What the stand-in got, for a demo visitor."""
        with s.lock:
            return {"notices": list(s.notices.values()), "todos": list(s.todos.values()),
                    "robot": list(s.robot.values()), "duplicates": s.duplicates}

    return app


def _login_routes(app: FastAPI, s: Messaging) -> None:
    """免登: auth codes handed out as the app's JS API would, and their exchange."""

    def hand_out(employee_code: str) -> str:
        code = secrets.token_hex(16)
        with s.lock:
            s.authcodes[code] = (employee_code, time.time() + AUTH_CODE_SECONDS)
        return code

    @app.post("/demo/authcode")
    async def authcode(request: Request) -> JSONResponse:
        body = await request.json()
        employee_code = body.get("employee_code") if isinstance(body, dict) else None
        if not isinstance(employee_code, str) or not employee_code:
            return _err(40035, "缺少参数 employee_code")
        return JSONResponse({"errcode": 0, "code": hand_out(employee_code)})

    @app.get("/demo/authcode")
    def authcode_form(redirect_uri: str = "") -> Response:
        if not redirect_uri.startswith("/") or redirect_uri.startswith(("//", "/\\")):
            return PlainTextResponse("redirect_uri 须是本站路径", status_code=400)
        page = (
            '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>免登（本地替身）</title>'
            '<meta name="viewport" content="width=device-width, initial-scale=1"></head><body><main>'
            "<h1>免登（本地替身）</h1><p>代替应用内的 JS API：输入工号，取得一次性免登码后回到协同。</p>"
            f'<form method="post" action="authcode/form"><input type="hidden" name="redirect_uri" '
            f'value="{html.escape(redirect_uri)}"><p><label for="employee_code">工号</label><br>'
            '<input id="employee_code" name="employee_code" required maxlength="40"></p>'
            "<p><button type=\"submit\">获取免登码</button></p></form></main></body></html>"
        )
        return HTMLResponse(page)

    @app.post("/demo/authcode/form")
    async def authcode_post(request: Request) -> Response:
        form = await request.form()
        target, employee_code = str(form.get("redirect_uri", "")), str(form.get("employee_code", "")).strip()
        if not target.startswith("/") or target.startswith(("//", "/\\")) or not employee_code:
            return PlainTextResponse("缺少工号或 redirect_uri 无效", status_code=400)
        return RedirectResponse(f"{target}?{urlencode({'authCode': hand_out(employee_code)})}", status_code=303)

    @app.post("/topapi/v2/user/getuserinfo")
    async def getuserinfo(request: Request, access_token: str = "") -> JSONResponse:
        if access_token not in s.tokens:
            return _err(40014, "不合法的access_token")
        body = await request.json()
        code = body.get("code") if isinstance(body, dict) else None
        with s.lock:
            found = s.authcodes.pop(code, None) if isinstance(code, str) else None  # once, whatever follows
        if found is None or found[1] < time.time():
            return _err(40078, "不存在的临时授权码")
        employee_code = found[0]
        return JSONResponse({"errcode": 0, "errmsg": "ok", "request_id": secrets.token_hex(6), "result": {
            "userid": f"dt-{employee_code}", "unionid": f"union-{employee_code}", "name": employee_code,
            "device_id": secrets.token_hex(8), "sys": False, "sys_level": 0}})

    @app.post("/topapi/v2/user/get")
    async def user_get(request: Request, access_token: str = "") -> JSONResponse:
        if access_token not in s.tokens:
            return _err(40014, "不合法的access_token")
        body = await request.json()
        userid = body.get("userid") if isinstance(body, dict) else None
        if not isinstance(userid, str) or not userid.startswith("dt-") or userid[3:] in s.unknown:
            return _err(60121, "找不到该用户")
        employee_code = userid[3:]
        return JSONResponse({"errcode": 0, "errmsg": "ok", "result": {
            "userid": userid, "unionid": f"union-{employee_code}", "name": employee_code,
            "job_number": employee_code, "active": True}})


def settings_for(base_url: str) -> dict[str, Any]:
    return {"messaging_url": base_url, "messaging_app_key": APP_KEY, "messaging_app_secret": APP_SECRET,
            "messaging_agent_id": AGENT_ID, "messaging_robot_token": ROBOT_TOKEN,
            "messaging_robot_secret": ROBOT_SECRET, "messaging_corp_id": CORP_ID}


STANDINS["messaging"] = StandIn("messaging", make_app, settings_for)
