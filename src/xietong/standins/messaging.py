"""Stand-in for the 浙政钉 / DingTalk open API: token, work notices, to-dos and a signed group robot.

It checks what the real system checks — app key and secret, access tokens, the agent id, the robot's signature
and its one-hour timestamp window, required fields — and answers with DingTalk's error shapes (``errcode`` and
``errmsg`` for the ``topapi`` calls, HTTP 4xx with ``code``/``message`` for ``/v1.0``). It de-duplicates by our
message ids (``msg_uuid``, ``sourceId``, ``msgUuid``) and counts the duplicates it swallowed, so a test can see
that a retry never notified twice. Employee codes map to its own user ids (``dt-<code>``); ``unknown`` codes —
those in ``Messaging.unknown`` — are refused like DingTalk refuses an unknown user id.

``Messaging.down`` makes every call answer 503 and ``Messaging.junk`` answer a body that is not JSON: the
outside system down, then back, and a malformed reply.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from xietong.standins import STANDINS, StandIn

APP_KEY, APP_SECRET, AGENT_ID = "xietong-demo", "demo-app-secret-0123456789", "10001"
ROBOT_TOKEN, ROBOT_SECRET = "demo-robot-token", "SECdemo-robot-secret-0123456789"
WINDOW_MS = 3_600_000  # DingTalk refuses a robot call whose timestamp is more than an hour off


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

    @app.get("/")
    def received() -> dict[str, Any]:
        """What the stand-in got, for a demo visitor."""
        with s.lock:
            return {"notices": list(s.notices.values()), "todos": list(s.todos.values()),
                    "robot": list(s.robot.values()), "duplicates": s.duplicates}

    return app


def settings_for(base_url: str) -> dict[str, Any]:
    return {"messaging_url": base_url, "messaging_app_key": APP_KEY, "messaging_app_secret": APP_SECRET,
            "messaging_agent_id": AGENT_ID, "messaging_robot_token": ROBOT_TOKEN,
            "messaging_robot_secret": ROBOT_SECRET}


STANDINS["messaging"] = StandIn("messaging", make_app, settings_for)
