"""The one interface every outside system sits behind: a channel that sends one outbound message.

A channel is registered once by its integration::

    @channel("messaging", label="浙政钉工作通知", configured=lambda s: bool(s.messaging_url))
    def send(client: httpx.Client, message: Outgoing, settings: Settings) -> dict[str, Any]:
        ...  # one call in the outside system's protocol; returns its reply (kept on the row)

Where the outside system is and how to sign in to it are settings (``XIETONG_*``, ``config.py``); a channel
whose ``configured(settings)`` is false is not sent — its messages wait, and the health page says so.
``send`` runs in the worker with no database transaction open. It returns the reply, raises ``Unavailable`` when
the outside system is down or answers 5xx (the message backs off and is retried), or ``Refused`` when it refuses
the message for good — a bad signature, a malformed call, a malformed reply (the message turns ``dead`` at once:
retrying cannot help, an administrator looks at it). An optional ``on_done(session, message, reply)`` runs in the
transaction that records the success: what the reply changes in xietong (a sealed document stored, a receipt
kept, a case concluded).

``ordered=True`` sends a key's messages one after the other, never overtaking: a message waiting for a retry or
dead holds the later ones of its key (the provincial platform must see a case's acceptance before its steps).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.orm import Session

from xietong.config import Settings


class Unavailable(Exception):
    """The outside system could not be reached or failed (timeout, connection refused, 5xx): retry later."""


class Refused(Exception):
    """The outside system refused the message, or answered something we cannot read: retrying cannot help."""


@dataclass(frozen=True)
class Outgoing:
    """A claimed outbound message as its channel's sender sees it."""

    id: int
    channel: str
    kind: str
    key: str | None
    message_id: str
    payload: dict[str, Any]
    attempt: int


Sender = Callable[[httpx.Client, Outgoing, Settings], dict[str, Any]]
OnDone = Callable[[Session, Outgoing, dict[str, Any]], None]


@dataclass(frozen=True)
class Channel:
    name: str
    label: str
    send: Sender
    ordered: bool = False
    on_done: OnDone | None = None
    configured: Callable[[Settings], bool] = field(default=lambda settings: True)


CHANNELS: dict[str, Channel] = {}


def channel(name: str, *, label: str, ordered: bool = False, on_done: OnDone | None = None,
            configured: Callable[[Settings], bool] = lambda settings: True) -> Callable[[Sender], Sender]:
    """Register ``send`` as the channel ``name`` (Chinese ``label`` for the administrators' health page)."""

    def decorate(send: Sender) -> Sender:
        existing = CHANNELS.get(name)
        if existing is not None and existing.send is not send:
            raise ValueError(f"channel {name!r} already has a sender")
        CHANNELS[name] = Channel(name, label, send, ordered, on_done, configured)
        return send

    return decorate


def reply_json(response: httpx.Response) -> dict[str, Any]:
    """An outside system's JSON reply, with its status sorted into retry (5xx) and refusal (4xx, not JSON)."""
    if response.status_code >= 500:
        raise Unavailable(f"HTTP {response.status_code}: {response.text[:200]}")
    try:
        body = response.json()
    except ValueError as exc:
        raise Refused(f"HTTP {response.status_code}: 应答不是 JSON：{response.text[:200]}") from exc
    if response.status_code >= 400:
        raise Refused(f"HTTP {response.status_code}: {str(body)[:300]}")
    if not isinstance(body, dict):
        raise Refused(f"应答不是 JSON 对象：{str(body)[:200]}")
    return body
