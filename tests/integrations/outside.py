"""Shared pieces of the e-seal and e-archive tests against their stand-ins over real HTTP (committed data)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select

from xietong.config import Settings
from xietong.db.session import unit_of_work
from xietong.integrations import installed as _installed  # noqa: F401  (registers the channels)
from xietong.integrations.models import OutboundMessage
from xietong.integrations.outbound import OutboundOptions

CHANNELS = ("eseal", "archive")


@pytest.fixture
def clean_channels(db_engine: Engine) -> Iterator[None]:
    """These tests send every due message of their channels: start and end with none left over."""
    def clear() -> None:
        with unit_of_work(db_engine) as session:
            session.execute(delete(OutboundMessage).where(OutboundMessage.channel.in_(CHANNELS)))

    clear()
    yield
    clear()


def options(settings: Settings, **updates: Any) -> OutboundOptions:
    # a generous timeout: the stand-ins verify SM2 signatures in pure Python, on a machine that may be busy —
    # a slow answer must not turn into a retry the test did not ask for
    return OutboundOptions(settings=settings.model_copy(update=updates), timeout_seconds=60,
                           lease=timedelta(seconds=60))


def messages(engine: Engine, channel: str, key: int) -> list[OutboundMessage]:
    with unit_of_work(engine) as session:
        found = list(session.scalars(select(OutboundMessage).where(
            OutboundMessage.channel == channel, OutboundMessage.key == str(key)).order_by(OutboundMessage.id)))
        session.expunge_all()
        return found
