"""A committed little city (the web tests' ``api``) and the messaging stand-in on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, delete

from tests.web.conftest import api  # noqa: F401  (the fixture)
from xietong.config import Settings
from xietong.db.session import unit_of_work
from xietong.integrations.messaging.channel import NAME
from xietong.integrations.messaging.follower import follow_messaging
from xietong.integrations.models import OutboundMessage
from xietong.standins import Running, serve_in_thread
from xietong.standins.messaging import Messaging, make_app, settings_for
from xietong.worker.loop import run_once


@dataclass
class DingTalk:
    state: Messaging
    running: Running
    settings: Settings  # the settings pointing the adapter at this stand-in


@pytest.fixture
def dingtalk(settings: Settings, db_engine: Engine) -> Iterator[DingTalk]:
    run_once(db_engine)  # earlier tests' events are sequenced and followed now: this test sees only its own
    with unit_of_work(db_engine) as session:
        while follow_messaging(session):
            pass
    with unit_of_work(db_engine) as session:
        session.execute(delete(OutboundMessage).where(OutboundMessage.channel == NAME))
    state = Messaging()
    running = serve_in_thread(make_app(state))
    yield DingTalk(state, running, settings.model_copy(update=settings_for(running.url)))
    running.close()
    with unit_of_work(db_engine) as session:
        session.execute(delete(OutboundMessage).where(OutboundMessage.channel == NAME))
