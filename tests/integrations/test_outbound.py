"""Outbound messages to outside systems: sent outside any transaction, retried, refused, ordered per key, and
de-duplicated by the outside system after a lost reply — against a real HTTP stand-in on loopback."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, delete, select

from xietong.config import Settings
from xietong.db.base import utcnow
from xietong.db.session import unit_of_work
from xietong.integrations import health
from xietong.integrations.channels import CHANNELS, Outgoing, reply_json
from xietong.integrations.models import OutboundMessage
from xietong.integrations.outbound import OutboundOptions, claim, enqueue, send_outbound
from xietong.security.principal import SYSTEM_PRINCIPAL
from xietong.standins import Running, serve_in_thread


@dataclass
class Echo:
    """A tiny outside system: takes messages by id once, answers what ``answer`` says (ok, 503, 400, junk)."""

    answer: str = "ok"
    taken: dict[str, dict[str, Any]] = field(default_factory=dict)  # message id → body, first arrival only
    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/messages")
        async def take(request: Request) -> JSONResponse:
            body = await request.json()
            with self.lock:
                self.calls += 1
                if self.answer == "503":
                    return JSONResponse({"errmsg": "维护中"}, status_code=503)
                if self.answer == "400":
                    return JSONResponse({"errcode": 40001, "errmsg": "签名错误"}, status_code=400)
                if self.answer == "junk":
                    return JSONResponse(["not", "an", "object"])
                self.taken.setdefault(request.headers["x-message-id"], body)
                return JSONResponse({"errcode": 0, "receipt": f"R-{request.headers['x-message-id'][:8]}"})

        return app


@pytest.fixture
def echo() -> Iterator[tuple[Echo, Running]]:
    system = Echo()
    running = serve_in_thread(system.app())
    yield system, running
    running.close()


@pytest.fixture
def channel_name(echo: tuple[Echo, Running], db_engine: Engine) -> Iterator[str]:
    """A channel registered for the test (its URL is the stand-in's); its rows and registration go afterwards."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    yield name
    CHANNELS.pop(name, None)
    with unit_of_work(db_engine) as session:
        session.execute(delete(OutboundMessage).where(OutboundMessage.channel == name))


def register(name: str, url: str, *, ordered: bool = False, done: list[str] | None = None) -> None:
    from xietong.integrations.channels import channel

    def on_done(session: Any, message: Outgoing, reply: dict[str, Any]) -> None:
        if done is not None:
            done.append(reply["receipt"])

    @channel(name, label="测试系统", ordered=ordered, on_done=on_done)
    def send(client: httpx.Client, message: Outgoing, settings: Settings) -> dict[str, Any]:
        response = client.post(f"{url}/messages", json={"kind": message.kind, **message.payload},
                               headers={"X-Message-Id": message.message_id})
        return reply_json(response)


def options(settings: Settings) -> OutboundOptions:
    return OutboundOptions(settings=settings, timeout_seconds=2, lease=timedelta(seconds=60))


def queue(engine: Engine, name: str, n: int, *, key: str | None = None) -> list[int]:
    with unit_of_work(engine) as session:
        return [enqueue(session, name, "notice", {"n": i}, key=key) for i in range(n)]


def rows(engine: Engine, name: str) -> list[OutboundMessage]:
    with unit_of_work(engine) as session:
        found = session.scalars(select(OutboundMessage).where(OutboundMessage.channel == name)
                                .order_by(OutboundMessage.id)).all()
        session.expunge_all()
        return list(found)


def test_messages_are_sent_once_with_their_replies_kept(db_engine: Engine, settings: Settings, channel_name: str,
                                                        echo: tuple[Echo, Running]) -> None:
    system, running = echo
    receipts: list[str] = []
    register(channel_name, running.url, done=receipts)
    queue(db_engine, channel_name, 3)

    assert send_outbound(db_engine, options=options(settings)) >= 3
    sent = rows(db_engine, channel_name)
    assert [m.state for m in sent] == ["done"] * 3
    assert sorted(m.payload["n"] for m in sent) == [0, 1, 2]
    assert {m.message_id for m in sent} == set(system.taken)
    assert sorted(receipts) == sorted(m.reply["receipt"] for m in sent if m.reply)
    assert send_outbound(db_engine, options=options(settings)) == 0 or system.calls == 3  # nothing goes twice
    assert system.calls == 3


def test_an_outside_system_down_then_back_loses_nothing(db_engine: Engine, settings: Settings, channel_name: str,
                                                       echo: tuple[Echo, Running]) -> None:
    system, running = echo
    register(channel_name, running.url)
    queue(db_engine, channel_name, 2)
    system.answer = "503"
    send_outbound(db_engine, options=options(settings))
    waiting = rows(db_engine, channel_name)
    assert [(m.state, m.attempts) for m in waiting] == [("pending", 1)] * 2
    assert all(m.last_error and m.last_error.startswith("不可用") for m in waiting)
    assert all(m.available_at > utcnow() for m in waiting)  # backing off
    report = report_of(db_engine, settings, channel_name)
    assert (report.status, report.pending, report.dead) == ("retrying", 2, 0)

    system.answer = "ok"
    send_outbound(db_engine, options=options(settings), now=utcnow() + timedelta(minutes=1))
    assert [m.state for m in rows(db_engine, channel_name)] == ["done", "done"]
    assert len(system.taken) == 2


def report_of(engine: Engine, settings: Settings, name: str) -> health.ChannelHealth:
    with unit_of_work(engine) as session:
        [report] = [h for h in health.channel_health(session, principal=SYSTEM_PRINCIPAL, settings=settings)
                    if h.channel == name]
    return report


def test_a_refusal_is_dead_at_once_then_replayed_or_skipped(db_engine: Engine, settings: Settings,
                                                            channel_name: str, echo: tuple[Echo, Running]) -> None:
    system, running = echo
    register(channel_name, running.url)
    first, second = queue(db_engine, channel_name, 2)
    system.answer = "400"
    send_outbound(db_engine, options=options(settings))
    assert [(m.state, m.attempts) for m in rows(db_engine, channel_name)] == [("dead", 1)] * 2
    assert "签名错误" in (rows(db_engine, channel_name)[0].last_error or "")

    system.answer = "ok"
    with unit_of_work(db_engine) as session:
        assert [m.id for m in health.dead_messages(session, principal=SYSTEM_PRINCIPAL, channel=channel_name)] == [
            first, second]
        health.replay(session, principal=SYSTEM_PRINCIPAL, message_id=first, now=utcnow())
        health.skip(session, principal=SYSTEM_PRINCIPAL, message_id=second)
    send_outbound(db_engine, options=options(settings))
    assert [m.state for m in rows(db_engine, channel_name)] == ["done", "skipped"]
    assert len(system.taken) == 1


def test_a_malformed_reply_is_a_refusal(db_engine: Engine, settings: Settings, channel_name: str,
                                        echo: tuple[Echo, Running]) -> None:
    system, running = echo
    register(channel_name, running.url)
    queue(db_engine, channel_name, 1)
    system.answer = "junk"
    send_outbound(db_engine, options=options(settings))
    [message] = rows(db_engine, channel_name)
    assert message.state == "dead" and "不是 JSON 对象" in (message.last_error or "")


def test_an_ordered_channel_never_lets_a_later_message_overtake(db_engine: Engine, settings: Settings,
                                                              channel_name: str, echo: tuple[Echo, Running]) -> None:
    system, running = echo
    register(channel_name, running.url, ordered=True)
    ids = queue(db_engine, channel_name, 3, key="case-1")
    other = queue(db_engine, channel_name, 1, key="case-2")
    system.answer = "503"
    send_outbound(db_engine, options=options(settings))
    attempts = {m.id: m.attempts for m in rows(db_engine, channel_name)}
    assert attempts == {ids[0]: 1, ids[1]: 0, ids[2]: 0, other[0]: 1}  # one head per key was tried

    system.answer = "ok"
    later = utcnow()
    for step in range(1, 5):
        send_outbound(db_engine, options=options(settings), now=later + timedelta(minutes=step))
    sent = rows(db_engine, channel_name)
    assert all(m.state == "done" for m in sent)
    in_order = [m for m in sent if m.key == "case-1"]
    assert [m.payload["n"] for m in sorted(in_order, key=lambda m: m.done_at or utcnow())] == [0, 1, 2]


def test_a_worker_killed_after_sending_sends_again_and_the_outside_system_takes_it_once(
    db_engine: Engine, settings: Settings, channel_name: str, echo: tuple[Echo, Running]
) -> None:
    system, running = echo
    register(channel_name, running.url)
    queue(db_engine, channel_name, 1)
    now = utcnow()
    [claimed] = [m for m in claim(db_engine, now=now, options=options(settings)) if m.channel == channel_name]
    with httpx.Client() as client:  # sent, then the worker dies before recording the reply
        CHANNELS[channel_name].send(client, claimed, settings)
    assert send_outbound(db_engine, options=options(settings), now=now) == 0  # leased: nobody else sends it
    send_outbound(db_engine, options=options(settings), now=now + timedelta(seconds=61))  # the lease ran out
    [message] = rows(db_engine, channel_name)
    assert (message.state, message.attempts) == ("done", 2)
    assert system.calls == 2 and len(system.taken) == 1  # sent twice, taken once (by message id)


def test_an_unconfigured_channel_keeps_its_messages_waiting(db_engine: Engine, settings: Settings,
                                                           channel_name: str, echo: tuple[Echo, Running]) -> None:
    from xietong.integrations.channels import channel

    @channel(channel_name, label="未配置的系统", configured=lambda s: False)
    def send(client: httpx.Client, message: Outgoing, settings: Settings) -> dict[str, Any]:
        raise AssertionError("an unconfigured channel is never sent")

    queue(db_engine, channel_name, 1)
    send_outbound(db_engine, options=options(settings))
    assert [m.state for m in rows(db_engine, channel_name)] == ["pending"]
    report = report_of(db_engine, settings, channel_name)
    assert (report.status, report.pending) == ("unconfigured", 1)
