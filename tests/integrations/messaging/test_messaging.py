"""Messaging (浙政钉): cases handled over the real app, the change-log follower and the worker's sender, and the
stand-in over real HTTP on loopback — work notices, to-dos created then finished, the signed group robot."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from tests.integrations.messaging.conftest import DingTalk
from tests.web.conftest import Api, submit
from tests.web.test_api_cases import _task
from xietong.cases.cards import case_red
from xietong.cases.models import Notification
from xietong.db.base import utcnow
from xietong.db.session import unit_of_work
from xietong.integrations.channels import Refused
from xietong.integrations.messaging import client
from xietong.integrations.messaging.channel import NAME
from xietong.integrations.messaging.preferences import set_messaging
from xietong.integrations.models import OutboundMessage
from xietong.integrations.outbound import OutboundOptions, send_outbound
from xietong.security.principal import SYSTEM_PRINCIPAL
from xietong.worker.loop import run_once


def options(d: DingTalk) -> OutboundOptions:
    return OutboundOptions(settings=d.settings, timeout_seconds=5, lease=timedelta(seconds=60))


def work(engine: Engine, d: DingTalk, *, rounds: int = 3) -> None:
    """The worker: follow the change log, then send (a task's to-do messages go one per round, in order)."""
    for _ in range(rounds):
        run_once(engine, outbound=options(d))


def messages(engine: Engine) -> list[OutboundMessage]:
    with unit_of_work(engine) as session:
        found = list(session.scalars(select(OutboundMessage).where(OutboundMessage.channel == NAME)
                                     .order_by(OutboundMessage.id)))
        session.expunge_all()
    return found


def code(api: Api, key: str) -> str:
    return api.city.people[key].employee_code


def accepted_case(api: Api) -> tuple[int, Any]:
    applicant = api.login("finance.clerk.0")
    case_id = int(submit(applicant, api, title="申请增加编制")["id"])  # type: ignore[call-overload]
    handler = api.login("staffing.clerk.0")
    assert handler.post(f"/api/v1/cases/{case_id}/accept").status_code in (200, 204)
    return case_id, handler


def test_a_task_becomes_a_notice_and_a_todo_that_is_finished_when_the_task_is(
        api: Api, db_engine: Engine, dingtalk: DingTalk) -> None:
    case_id, handler = accepted_case(api)
    work(db_engine, dingtalk)
    clerk = f"dt-{code(api, 'staffing.clerk.0')}"
    todos = [t for t in dingtalk.state.todos.values() if clerk in t["executors"]]
    assert len(todos) == 1 and not todos[0]["done"] and "申请增加编制" in todos[0]["subject"]
    assert any(clerk in n["userids"] and n["msg"]["markdown"]["title"] == "新待办"
               for n in dingtalk.state.notices.values())

    task = _task(handler, case_id)
    assert handler.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve"}).status_code == 200
    work(db_engine, dingtalk)
    assert dingtalk.state.todos[todos[0]["sourceId"]]["done"] is True
    reviewers = [t for t in dingtalk.state.todos.values() if f"dt-{code(api, 'finance.section_chief.0')}"
                 in t["executors"]]
    assert len(reviewers) == 1 and not reviewers[0]["done"]  # the next step's to-do
    sent = messages(db_engine)
    assert sent and all(m.state == "done" for m in sent)
    assert {m.message_id for m in sent if m.kind == "notice"} <= set(dingtalk.state.notices)
    assert dingtalk.state.duplicates == 0


def test_a_red_card_posts_to_the_group_robot_with_a_valid_signature(
        api: Api, db_engine: Engine, dingtalk: DingTalk) -> None:
    case_id, _ = accepted_case(api)
    with unit_of_work(db_engine) as session:
        case_red(session, SimpleNamespace(case_id=case_id), utcnow() + timedelta(days=400))  # type: ignore[arg-type]
    work(db_engine, dingtalk)
    [posted] = dingtalk.state.robot.values()
    assert "红牌" in posted["text"]["content"] and api.city.units["staffing"].name in posted["text"]["content"]
    clerk = f"dt-{code(api, 'staffing.clerk.0')}"
    assert any(clerk in n["userids"] and "红牌" in n["msg"]["markdown"]["title"]
               for n in dingtalk.state.notices.values())


def test_the_stand_in_refuses_a_bad_robot_signature_and_a_stale_timestamp(dingtalk: DingTalk) -> None:
    wrong = dingtalk.settings.model_copy(update={"messaging_robot_secret": "SECnot-the-secret"})
    with httpx.Client() as http:
        with pytest.raises(Refused, match="sign not match"):
            client.send_robot(http, wrong, message_id="m-bad-sign", text="红牌")
        stale = int((utcnow() - timedelta(hours=2)).timestamp() * 1000)
        with pytest.raises(Refused, match="invalid timestamp"):
            client.send_robot(http, dingtalk.settings, message_id="m-stale", text="红牌", now_ms=stale)
        assert client.send_robot(http, dingtalk.settings, message_id="m-good", text="红牌")["errcode"] == 0
    assert list(dingtalk.state.robot) == ["m-good"]


def test_wrong_app_credentials_are_refused_and_the_message_is_dead(
        api: Api, db_engine: Engine, dingtalk: DingTalk) -> None:
    dingtalk.settings = dingtalk.settings.model_copy(update={"messaging_app_secret": "not-the-secret"})
    accepted_case(api)
    work(db_engine, dingtalk, rounds=1)
    dead = [m for m in messages(db_engine) if m.state == "dead"]
    assert dead and all("40089" in (m.last_error or "") for m in dead)
    assert not dingtalk.state.notices and not dingtalk.state.todos


def test_messaging_down_then_back_loses_nothing_and_notifies_once(
        api: Api, db_engine: Engine, dingtalk: DingTalk) -> None:
    dingtalk.state.down = True
    accepted_case(api)
    work(db_engine, dingtalk, rounds=1)
    waiting = messages(db_engine)
    assert waiting and all((m.state, m.attempts) == ("pending", 1) for m in waiting)
    assert all((m.last_error or "").startswith("不可用") for m in waiting)

    dingtalk.state.down = False
    later = utcnow()
    for step in range(1, 4):
        send_outbound(db_engine, options=options(dingtalk), now=later + timedelta(minutes=step))
    sent = messages(db_engine)
    assert [m.state for m in sent] == ["done"] * len(sent)
    assert len(dingtalk.state.notices) + len(dingtalk.state.todos) == len(sent)
    assert dingtalk.state.duplicates == 0

    # A reply lost after the call: the message is sent again with the same id and taken once.
    [notice] = [m for m in sent if m.kind == "notice"][:1]
    with unit_of_work(db_engine) as session:
        row = session.get(OutboundMessage, notice.id)
        assert row is not None
        row.state, row.available_at = "pending", utcnow()
    send_outbound(db_engine, options=options(dingtalk))
    assert dingtalk.state.duplicates == 1 and len(dingtalk.state.notices) == len(
        [m for m in sent if m.kind == "notice"])


def test_a_malformed_reply_is_a_refusal(api: Api, db_engine: Engine, dingtalk: DingTalk) -> None:
    dingtalk.state.junk = True
    accepted_case(api)
    work(db_engine, dingtalk, rounds=1)
    dead = messages(db_engine)
    assert dead and all(m.state == "dead" and "不是 JSON" in (m.last_error or "") for m in dead)


def test_an_unknown_employee_code_is_refused_by_the_messaging_system(
        api: Api, db_engine: Engine, dingtalk: DingTalk) -> None:
    dingtalk.state.unknown.add(code(api, "staffing.clerk.0"))
    accepted_case(api)
    work(db_engine, dingtalk, rounds=1)
    refused = [m for m in messages(db_engine) if m.state == "dead"]
    assert {m.kind for m in refused} == {"notice", "todo.create"}
    assert any("33012" in (m.last_error or "") for m in refused)


def test_who_switched_messaging_off_gets_only_the_in_app_notification(
        api: Api, db_engine: Engine, dingtalk: DingTalk) -> None:
    chiefs = [api.city.people[f"finance.section_chief.{i}"] for i in (0, 1)]  # both hold the review's post
    with unit_of_work(db_engine) as session:
        set_messaging(session, principal=SYSTEM_PRINCIPAL, person_id=chiefs[0].id, enabled=False)
    try:
        case_id, handler = accepted_case(api)
        task = _task(handler, case_id)
        assert handler.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve"}).status_code == 200
        work(db_engine, dingtalk)
        with unit_of_work(db_engine) as session:
            in_app = set(session.scalars(select(Notification.person_id).where(Notification.case_id == case_id)))
        assert {c.id for c in chiefs} <= in_app  # in-app is always on
        reached = {u for n in dingtalk.state.notices.values() for u in n["userids"]} | {
            u for t in dingtalk.state.todos.values() for u in t["executors"]}
        assert f"dt-{chiefs[1].employee_code}" in reached
        assert f"dt-{chiefs[0].employee_code}" not in reached
    finally:
        with unit_of_work(db_engine) as session:
            set_messaging(session, principal=SYSTEM_PRINCIPAL, person_id=chiefs[0].id, enabled=True)
