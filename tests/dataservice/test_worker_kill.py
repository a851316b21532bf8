"""A real ``xietong worker`` process killed with SIGKILL in the middle of a webhook burst loses nothing.

After a restart every event reaches the receiver at least once, and delivery and event ids let the receiver
drop the repeats (a delivery sent just before the kill, whose outcome was never recorded, is sent again).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from sqlalchemy import select

from tests.cli.conftest import CliDb
from tests.dataservice.receiver import Receiver
from tests.factories import linear_process, make_city, post_rule, publish_matter
from xietong.cases import service
from xietong.cases.models import Event
from xietong.dataservice.clients import register_client
from xietong.dataservice.models import WebhookDelivery
from xietong.dataservice.subscriptions import create_subscription
from xietong.db.base import utcnow
from xietong.db.session import unit_of_work
from xietong.security.principal import SYSTEM_PRINCIPAL

BURST = 40


def _worker(cli_db: CliDb) -> subprocess.Popen[bytes]:
    env = {**os.environ, **cli_db.env, "XIETONG_WEBHOOK_LEASE_SECONDS": "2", "XIETONG_WEBHOOK_TIMEOUT_SECONDS": "2"}
    return subprocess.Popen(
        [sys.executable, "-m", "xietong", "worker", "--idle-seconds", "0.1"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def _wait(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _states(cli_db: CliDb) -> list[str]:
    with unit_of_work(cli_db.engine) as session:
        return list(session.scalars(select(WebhookDelivery.state)))


def test_killing_the_worker_mid_burst_loses_no_event(cli_db: CliDb) -> None:
    receiver = Receiver(delay=0.05).start()  # slow enough to be killed in the middle
    with unit_of_work(cli_db.engine) as session:
        city = make_city(session)
        local = publish_matter(session, city, linear_process(("review", post_rule("finance"))))
        client = register_client(session, principal=SYSTEM_PRINCIPAL, name="数据中心", scopes=["cases:read"],
                                 unit_ids=[city.units["office"].id], now=utcnow()).client
        _, receiver.secret = create_subscription(session, principal=SYSTEM_PRINCIPAL, client_pk=client.id,
                                                 url=receiver.url, event_types=["*"], now=utcnow())
        for i in range(BURST):
            service.submit_case(
                session, principal=city.principal(session, "office"), local_matter_id=local.id,
                applicant_unit_id=city.units["office"].id, form={"title": f"突发事件{i}"},
            )
    with unit_of_work(cli_db.engine) as session:
        expected = set(session.scalars(select(Event.id)))
    worker = _worker(cli_db)
    try:
        assert _wait(lambda: len(receiver.received) >= 5, 60), "the worker never started delivering"
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        at_kill = len(receiver.unique_events())
        assert at_kill < BURST, "the burst was over before the kill; nothing was tested"
        worker = _worker(cli_db)
        assert _wait(lambda: set(receiver.unique_events()) >= expected, 90), (
            f"{len(expected - set(receiver.unique_events()))} events never arrived"
        )
        assert _wait(lambda: _states(cli_db) == ["delivered"] * BURST, 30), _states(cli_db)
    finally:
        worker.kill()
        worker.wait(10)
        receiver.stop()
    assert set(receiver.unique_events()) == expected  # each at least once, nothing foreign
    by_delivery: dict[int, set[int]] = {}
    for r in receiver.received:
        by_delivery.setdefault(r.delivery_id, set()).add(r.event_id)
    assert all(len(events) == 1 for events in by_delivery.values())  # a repeat carries the same ids
