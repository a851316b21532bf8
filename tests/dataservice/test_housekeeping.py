"""Purging the data service's expired bookkeeping: what has expired goes, pending and dead rows always stay."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import make_city
from xietong.dataservice.housekeeping import purge_expired
from xietong.dataservice.models import ApiClient, IdempotencyRecord, RateWindow
from xietong.db.base import utcnow
from xietong.integrations.models import OutboundMessage


def test_expired_rows_go_and_open_work_stays(session: Session) -> None:
    now = utcnow()
    make_city(session)
    client = ApiClient(client_id="housekeeping-test", secret_hash="x" * 64, name="测试", scopes=[], unit_ids=[],
                       created_at=now)
    session.add(client)
    session.flush()
    old, fresh = now - timedelta(hours=25), now - timedelta(hours=1)
    session.add_all([
        IdempotencyRecord(owner="person:1", key="hk-old", request_digest="d", state="done", created_at=old),
        IdempotencyRecord(owner="person:1", key="hk-fresh", request_digest="d", state="done", created_at=fresh),
        RateWindow(client_pk=client.id, window_start=int(now.timestamp()) - 3600, count=5),
        RateWindow(client_pk=client.id, window_start=int(now.timestamp()) // 60 * 60, count=1),
    ])
    long_ago = now - timedelta(days=31)
    for state, name in (("done", "hk-done"), ("skipped", "hk-skipped"), ("dead", "hk-dead"), ("pending", "hk-pending")):
        session.add(OutboundMessage(channel="province", kind="up_pro_accept", message_id=name, payload={},
                                    state=state, created_at=long_ago, available_at=long_ago,
                                    done_at=long_ago if state == "done" else None, last_attempt_at=long_ago))
    session.add(OutboundMessage(channel="province", kind="up_pro_accept", message_id="hk-done-recently",
                                payload={}, state="done", created_at=now, available_at=now, done_at=now))
    session.flush()

    assert purge_expired(session, now=now) >= 4
    keys = set(session.scalars(select(IdempotencyRecord.key).where(IdempotencyRecord.key.like("hk-%"))))
    assert keys == {"hk-fresh"}
    assert session.scalars(select(RateWindow.count).where(RateWindow.client_pk == client.id)).all() == [1]
    kept = set(session.scalars(select(OutboundMessage.message_id).where(OutboundMessage.message_id.like("hk-%"))))
    assert kept == {"hk-dead", "hk-pending", "hk-done-recently"}
