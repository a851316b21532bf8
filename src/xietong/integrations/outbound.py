"""Sending outbound messages: enqueue in the caller's transaction; claim, send outside any transaction, record.

Why not in the outbox's savepoint like in-app notifications: an HTTP call inside the worker's transaction would
hold the database (on SQLite, the one writer lock) as long as the outside system takes, so handling cases would
wait on it. So a claim leases due messages in one short transaction (``available_at`` moves a lease ahead), the
calls happen with no transaction open, and each outcome is recorded in a transaction of its own together with
its channel's ``on_done``. A worker killed between a call and its record leaves the lease to run out and the
message is sent again, with the same ``message_id``: at least once, and the outside system de-duplicates.

Order: for an ``ordered`` channel only the earliest open message of a key (its head) is claimed — pending and
due; a head that waits for a retry, is leased or is dead holds the rest of its key.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, and_, exists, insert, select, update
from sqlalchemy.orm import Session

from xietong.config import Settings
from xietong.db.base import utcnow
from xietong.db.session import unit_of_work
from xietong.integrations.channels import CHANNELS, Outgoing, Refused, Unavailable
from xietong.integrations.models import OutboundMessage

logger = logging.getLogger(__name__)
OUTBOUND = OutboundMessage.__table__


@dataclass(frozen=True)
class OutboundOptions:
    settings: Settings
    timeout_seconds: float = 10.0
    lease: timedelta = timedelta(minutes=5)
    max_attempts: int = 10
    first_backoff: timedelta = timedelta(seconds=10)
    max_backoff: timedelta = timedelta(hours=6)
    batch: int = 50  # ≤ lease ÷ timeout × concurrency ÷ 2: a claimed round always finishes inside its lease
    concurrency: int = 4


def enqueue(
    session: Session, channel: str, kind: str, payload: dict[str, Any], *, key: str | int | None = None,
    message_id: str | None = None, now: datetime | None = None,
) -> int:
    """Queue one message in the caller's transaction; returns its id. ``message_id`` defaults to a fresh UUID."""
    if channel not in CHANNELS:
        raise LookupError(f"no channel {channel!r} is registered")
    now = now or utcnow()
    return session.execute(
        insert(OUTBOUND).values(
            channel=channel, kind=kind, key=None if key is None else str(key), payload=payload,
            message_id=message_id or uuid.uuid4().hex, state="pending", attempts=0, available_at=now,
            created_at=now,
        ).returning(OUTBOUND.c.id)
    ).scalar_one()


def outbound_options(settings: Settings) -> OutboundOptions:
    return OutboundOptions(settings=settings, timeout_seconds=settings.outbound_timeout_seconds,
                           lease=timedelta(seconds=settings.outbound_lease_seconds))


def backoff(options: OutboundOptions, attempts: int) -> timedelta:
    """After the ``attempts``-th failure: 10 s, 20 s, 40 s … at most six hours (defaults)."""
    return min(options.first_backoff * 2 ** max(attempts - 1, 0), options.max_backoff)


def configured_channels(settings: Settings) -> list[str]:
    return [name for name, c in CHANNELS.items() if c.configured(settings)]


def _due(session: Session, now: datetime, options: OutboundOptions) -> Sequence[Any]:
    earlier = OUTBOUND.alias("earlier")
    channels = configured_channels(options.settings)
    ordered = [name for name in channels if CHANNELS[name].ordered]
    held = exists().where(  # an ordered channel's earlier open message of the same key goes first
        earlier.c.channel == OUTBOUND.c.channel, earlier.c.key == OUTBOUND.c.key, earlier.c.id < OUTBOUND.c.id,
        earlier.c.state.in_(("pending", "dead")),
    )
    query = (
        select(OUTBOUND.c.id)
        .where(OUTBOUND.c.state == "pending", OUTBOUND.c.available_at <= now,
               OUTBOUND.c.channel.in_(channels))
        .order_by(OUTBOUND.c.available_at, OUTBOUND.c.id)
        .limit(options.batch)
        .with_for_update(skip_locked=True)
    )
    if ordered:
        query = query.where(~and_(OUTBOUND.c.channel.in_(ordered), OUTBOUND.c.key.is_not(None), held))
    return session.execute(query).scalars().all()


def claim(engine: Engine, *, now: datetime, options: OutboundOptions) -> list[Outgoing]:
    """Lease due messages of the registered channels; one short transaction."""
    with unit_of_work(engine) as session:
        ids = list(_due(session, now, options))
        if not ids:
            return []
        # The attempt counts when it is claimed: a message that kills its worker still runs out of attempts.
        session.execute(update(OUTBOUND).where(OUTBOUND.c.id.in_(ids))
                        .values(available_at=now + options.lease, attempts=OUTBOUND.c.attempts + 1))
        rows = session.execute(
            select(OUTBOUND.c.id, OUTBOUND.c.channel, OUTBOUND.c.kind, OUTBOUND.c.key, OUTBOUND.c.message_id,
                   OUTBOUND.c.payload, OUTBOUND.c.attempts)
            .where(OUTBOUND.c.id.in_(ids)).order_by(OUTBOUND.c.id)
        ).all()
    return [Outgoing(r.id, r.channel, r.kind, r.key, r.message_id, dict(r.payload), r.attempts) for r in rows]


@dataclass(frozen=True)
class Outcome:
    message: Outgoing
    reply: dict[str, Any] | None
    error: str | None
    final: bool  # refused: dead at once
    at: datetime


def _send(client: httpx.Client, message: Outgoing, settings: Settings) -> Outcome:
    channel = CHANNELS[message.channel]
    try:
        reply = channel.send(client, message, settings)
    except Refused as exc:
        return Outcome(message, None, f"拒收：{exc}"[:2000], True, utcnow())
    except (Unavailable, httpx.HTTPError) as exc:
        return Outcome(message, None, f"不可用：{type(exc).__name__}: {exc}"[:2000], False, utcnow())
    except Exception as exc:  # a bug in a sender is the message's, not the round's; it is retried and logged
        logger.exception("outbound sender %s failed on message %s", message.channel, message.id)
        return Outcome(message, None, f"{type(exc).__name__}: {exc}"[:2000], False, utcnow())
    return Outcome(message, reply, None, False, utcnow())


def record(engine: Engine, outcome: Outcome, options: OutboundOptions) -> None:
    """Write one outcome (and its channel's ``on_done``) in a transaction of its own."""
    message = outcome.message
    values: dict[str, Any] = {"attempts": message.attempt, "last_attempt_at": outcome.at,
                              "last_error": outcome.error}
    with unit_of_work(engine) as session:
        if outcome.error is None:
            assert outcome.reply is not None
            values.update(state="done", done_at=outcome.at, reply=outcome.reply)
            on_done = CHANNELS[message.channel].on_done
            if on_done is not None:
                try:
                    with session.begin_nested():
                        on_done(session, message, outcome.reply)
                except Exception as exc:  # the outside system took it; what we do with the reply failed
                    logger.exception("on_done of %s failed on message %s", message.channel, message.id)
                    values.update(state="pending", done_at=None, available_at=outcome.at + backoff(
                        options, message.attempt), last_error=f"应答处理失败：{type(exc).__name__}: {exc}"[:2000])
        elif outcome.final or message.attempt >= options.max_attempts:
            values.update(state="dead")
        else:
            values.update(available_at=outcome.at + backoff(options, message.attempt))
        session.execute(update(OUTBOUND).where(OUTBOUND.c.id == message.id, OUTBOUND.c.state == "pending")
                        .values(**values))


def send_outbound(engine: Engine, *, options: OutboundOptions, now: datetime | None = None) -> int:
    """One round: claim, send (a few at once; an ordered channel's key one message per round), record; returns
    how many messages were tried."""
    claimed = claim(engine, now=now or utcnow(), options=options)
    if not claimed:
        return 0
    with httpx.Client(timeout=options.timeout_seconds) as client, \
            ThreadPoolExecutor(max_workers=options.concurrency) as pool:
        for outcome in pool.map(lambda m: _send(client, m, options.settings), claimed):
            record(engine, outcome, options)
    return len(claimed)
