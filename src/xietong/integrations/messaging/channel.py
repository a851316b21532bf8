"""The ``messaging`` channel: one outbound message is one call of the messaging open API (``client.py``).

Kinds and their payloads (written by ``follower.py``):

- ``notice`` — ``employee_codes``, ``title``, ``text``: a work notice (工作通知);
- ``todo.create`` — ``source_id``, ``employee_codes``, ``subject``, ``description``: a to-do (待办);
- ``todo.finish`` — ``source_id``, ``cancelled``: the to-do done, or deleted when its task was cancelled;
- ``robot`` — ``text``: a group robot message (群机器人); sent only when a robot is configured, else kept as done
  with ``{"skipped": …}`` so an unconfigured robot never fills the dead letters.

Ordered per key: a task's to-do messages share the key ``task-<id>``, so a to-do is created before it is finished.
"""

from __future__ import annotations

from typing import Any

import httpx

from xietong.config import Settings
from xietong.integrations.channels import Outgoing, Refused, channel
from xietong.integrations.messaging import client

NAME = "messaging"


def configured(settings: Settings) -> bool:
    return bool(settings.messaging_url and settings.messaging_app_key and settings.messaging_app_secret
                and settings.messaging_agent_id)


@channel(NAME, label="浙政钉消息（工作通知、待办、群机器人）", ordered=True, configured=configured)
def send(http: httpx.Client, message: Outgoing, settings: Settings) -> dict[str, Any]:
    p = message.payload
    if message.kind == "notice":
        return client.send_work_notice(http, settings, message_id=message.message_id,
                                       employee_codes=list(p["employee_codes"]), title=p["title"], text=p["text"])
    if message.kind == "todo.create":
        return client.create_todo(http, settings, source_id=p["source_id"], employee_codes=list(p["employee_codes"]),
                                  subject=p["subject"], description=p.get("description", ""), url=p.get("url"))
    if message.kind == "todo.finish":
        return client.finish_todo(http, settings, source_id=p["source_id"], cancelled=bool(p.get("cancelled")))
    if message.kind == "robot":
        if not (settings.messaging_robot_token and settings.messaging_robot_secret):
            return {"skipped": "未配置群机器人"}
        return client.send_robot(http, settings, message_id=message.message_id, text=p["text"])
    raise Refused(f"未知的消息类型：{message.kind}")
