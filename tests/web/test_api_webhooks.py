"""Webhooks end to end: a real receiver on loopback, signed deliveries, retries, order per case, dead letters.

The worker's steps run in the test (sequence, fan out, deliver); ``now`` moves time on for retries.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.dataservice.receiver import Receiver
from tests.web.clients_helpers import register
from tests.web.conftest import Api, submit
from xietong.cases.changelog import sequence_events
from xietong.dataservice.delivery import WebhookOptions, deliver_webhooks
from xietong.dataservice.fanout import fan_out_webhooks
from xietong.db.base import utcnow
from xietong.db.session import unit_of_work

FAST = WebhookOptions(timeout_seconds=0.5, lease=timedelta(seconds=30), max_attempts=3)


def pump(api: Api, *, now: datetime | None = None, options: WebhookOptions = FAST) -> int:
    """The worker's webhook duties until nothing is left to do at ``now``; returns the deliveries attempted."""
    engine, attempted = api.app.state.engine, 0
    for _ in range(100):
        with unit_of_work(engine) as session:
            sequence_events(session)
            fanned = fan_out_webhooks(session)
        sent = deliver_webhooks(engine, options=options, now=now)
        attempted += sent
        if not fanned and not sent:
            return attempted
    raise AssertionError("the webhook duties never settled")


@dataclass
class Hook:
    receiver: Receiver
    subscription: dict  # type: ignore[type-arg]
    admin: TestClient

    def history(self) -> list[dict]:  # type: ignore[type-arg]
        answer = self.admin.get(f"/api/v1/subscriptions/{self.subscription['id']}/deliveries")
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]


@pytest.fixture
def hook(api: Api) -> Iterator[Hook]:
    receiver = Receiver().start()
    client = register(api, units=("finance",), scopes=("cases:read",))
    admin = api.login(api.admin)
    pump(api)  # whatever earlier tests left is fanned out before this subscription exists
    created = admin.post(f"/api/v1/clients/{client['id']}/subscriptions",
                         json={"url": receiver.url, "event_types": ["case.*", "task.*"]})
    assert created.status_code == 201, created.text
    receiver.secret = created.json()["secret"]
    yield Hook(receiver, created.json(), admin)
    admin.post(f"/api/v1/subscriptions/{created.json()['id']}/pause")
    receiver.stop()


def test_a_subscription_receives_its_units_events_signed_and_once(api: Api, hook: Hook) -> None:
    assert hook.subscription["secret"].startswith("whsec_")
    clerk = api.login("finance.clerk.0")
    mine = [submit(clerk, api, title=f"订阅{i}")["id"] for i in range(2)]
    submit(api.login("hr_social.clerk.0"), api, title="别的单位", unit="hr_social")
    pump(api)
    assert sorted((r.case_id, r.type) for r in hook.receiver.received) == [(c, "case.submitted") for c in mine]
    assert hook.receiver.refused == 0
    history = hook.history()
    assert [d["state"] for d in history] == ["delivered", "delivered"] and history[0]["last_status"] == 204
    listed = hook.admin.get(f"/api/v1/clients/{hook.subscription['client_pk']}/subscriptions").json()
    assert listed and all("secret" not in s for s in listed)


def test_a_bad_signature_is_refused_by_the_receiver_and_retried(api: Api, hook: Hook) -> None:
    right, hook.receiver.secret = hook.receiver.secret, "whsec_not_the_one"
    case = submit(api.login("finance.clerk.0"), api, title="签名不对")
    pump(api)
    assert hook.receiver.refused == 1 and hook.receiver.received == []
    [delivery] = hook.history()
    assert delivery["state"] == "pending" and delivery["attempts"] == 1 and delivery["last_status"] == 401
    hook.receiver.secret = right
    pump(api, now=utcnow() + timedelta(minutes=5))
    assert [r.case_id for r in hook.receiver.received] == [case["id"]]
    assert hook.history()[0]["state"] == "delivered"


def test_receiver_down_then_back_loses_nothing_and_sends_nothing_twice(api: Api, hook: Hook) -> None:
    hook.receiver.stop()
    cases = [submit(api.login("finance.clerk.0"), api, title=f"接收方停机{i}")["id"] for i in range(3)]
    pump(api)
    assert all(d["state"] == "pending" and d["last_status"] is None for d in hook.history())
    hook.receiver.start()  # back on the same port
    pump(api, now=utcnow() + timedelta(minutes=5))
    assert sorted(r.case_id for r in hook.receiver.received) == cases
    assert len({r.delivery_id for r in hook.receiver.received}) == 3


@pytest.mark.parametrize("behaviour", ["fail", "slow", "garbage"])
def test_malformed_replies_are_failures_that_are_retried(api: Api, hook: Hook, behaviour: str) -> None:
    hook.receiver.behaviour, hook.receiver.delay = behaviour, 1.0  # slow: longer than the 0.5 s timeout
    case = submit(api.login("finance.clerk.0"), api, title=f"异常应答{behaviour}")
    pump(api)
    [delivery] = hook.history()
    assert delivery["state"] == "pending" and delivery["attempts"] == 1 and delivery["last_error"]
    hook.receiver.behaviour = "ok"
    hook.receiver.delay = 0.0
    pump(api, now=utcnow() + timedelta(minutes=5))
    got = [r for r in hook.receiver.received if r.case_id == case["id"]]
    assert got and {r.delivery_id for r in got} == {delivery["id"]}  # slow: its late first answer may count too
    assert hook.history()[0]["state"] == "delivered" and hook.history()[0]["attempts"] == 2


def _three_events(api: Api) -> int:
    """A case with three events in a row: submitted, accepted, task claimed."""
    case_id = submit(api.login("finance.clerk.0"), api, title="按序投递")["id"]
    handler = api.login("staffing.clerk.0")
    assert handler.post(f"/api/v1/cases/{case_id}/accept").status_code == 200
    task = next(t for t in handler.get("/api/v1/tasks/todo").json()["items"] if t["case_id"] == case_id)
    assert handler.post(f"/api/v1/tasks/{task['id']}/claim").status_code == 204
    return int(case_id)


def test_a_failing_event_holds_the_later_ones_of_its_case_only(api: Api, hook: Hook) -> None:
    hook.receiver.behaviour = "fail"
    held = _three_events(api)
    pump(api)
    hook.receiver.behaviour = "ok"
    other = submit(api.login("finance.clerk.0"), api, title="另一件")["id"]
    pump(api)  # the first case's head is backing off; the other case is not held by it
    assert [r.case_id for r in hook.receiver.received] == [other]
    pump(api, now=utcnow() + timedelta(minutes=5))
    got = [r for r in hook.receiver.received if r.case_id == held]
    assert [r.type for r in got][:2] == ["case.submitted", "case.accepted"] and len(got) >= 3
    assert [r.position for r in got] == sorted(r.position for r in got)


def test_a_dead_letter_holds_its_case_until_replayed_or_skipped(api: Api, hook: Hook) -> None:
    hook.receiver.behaviour = "fail"
    case_id = _three_events(api)
    later = utcnow()
    for _ in range(FAST.max_attempts):
        later += timedelta(hours=2)
        pump(api, now=later)
    dead = hook.admin.get("/api/v1/webhooks/dead-letters").json()
    mine = [d for d in dead if d["subscription_id"] == hook.subscription["id"]]
    assert len(mine) == 1 and mine[0]["case_id"] == case_id and mine[0]["attempts"] == FAST.max_attempts
    assert mine[0]["event_type"] == "case.submitted"
    hook.receiver.behaviour = "ok"
    pump(api, now=later + timedelta(hours=2))
    assert hook.receiver.received == []  # held: nothing of that case overtakes its dead letter
    assert hook.admin.post(f"/api/v1/webhooks/deliveries/{mine[0]['id']}/skip").status_code == 200
    assert hook.admin.post(f"/api/v1/webhooks/deliveries/{mine[0]['id']}/replay").status_code == 409
    pump(api, now=later + timedelta(hours=2))
    types = [r.type for r in hook.receiver.received]
    assert types[0] == "case.accepted" and "case.submitted" not in types  # skipped for good, the rest in order


def test_a_replayed_dead_letter_goes_first_and_its_followers_after_it(api: Api, hook: Hook) -> None:
    hook.receiver.behaviour = "fail"
    case_id = _three_events(api)
    later = utcnow()
    for _ in range(FAST.max_attempts):
        later += timedelta(hours=2)
        pump(api, now=later)
    [dead] = [d for d in hook.admin.get("/api/v1/webhooks/dead-letters").json()
              if d["subscription_id"] == hook.subscription["id"]]
    hook.receiver.behaviour = "ok"
    replayed = hook.admin.post(f"/api/v1/webhooks/deliveries/{dead['id']}/replay")
    assert replayed.status_code == 200 and replayed.json()["state"] == "pending"
    pump(api, now=later + timedelta(hours=2))
    got = [r for r in hook.receiver.received if r.case_id == case_id]
    assert got[0].type == "case.submitted" and got[0].delivery_id == dead["id"]
    assert [r.position for r in got] == sorted(r.position for r in got) and len(got) >= 3


def test_only_an_administrator_of_the_client_manages_its_webhooks(api: Api, hook: Hook) -> None:
    clerk = api.login("finance.clerk.0")
    sub_id = hook.subscription["id"]
    assert clerk.get(f"/api/v1/subscriptions/{sub_id}/deliveries").status_code == 404
    assert clerk.post(f"/api/v1/clients/{hook.subscription['client_pk']}/subscriptions",
                      json={"url": "http://127.0.0.1:9/x"}).status_code == 404
    bad = hook.admin.post(f"/api/v1/clients/{hook.subscription['client_pk']}/subscriptions",
                          json={"url": "ftp://example.org/hook"})
    assert bad.status_code == 422 and bad.json()["code"] == "bad_webhook_url"
