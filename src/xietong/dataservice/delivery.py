"""Sending webhook deliveries: claim in a short transaction, POST outside any transaction, record the outcome.

Why not inside the outbox's savepoint like other topics: an HTTP call inside the worker's transaction would
hold the database (on SQLite, the one writer lock) for as long as a slow receiver takes, so handling cases
would wait on an outside system. Instead a claim leases due deliveries (``next_attempt_at`` moves one lease
ahead), the POST happens with no transaction open, and the outcomes are recorded after. A worker killed
between the POST and the record leaves the lease to run out and the delivery is sent again: at least once,
with a stable ``delivery_id`` and ``event.id`` for the receiver to de-duplicate by. The outcomes of one round
commit together (one transaction per round, not per delivery: a kill repeats at most that round).

Order per (subscription, case): only the earliest pending delivery of a pair — its head — may be claimed, with
the unattempted ones right behind it (a run, sent one after the other and stopping at the first failure); a
later one never overtakes. A delivery that fails backs off exponentially and after the last attempt turns
``dead``, which keeps holding its pair until an administrator replays or skips it.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from xietong.cases.models import Case, Event
from xietong.dataservice.models import WebhookDelivery, WebhookSubscription
from xietong.dataservice.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from xietong.db.base import utcnow
from xietong.db.session import unit_of_work

logger = logging.getLogger(__name__)
DELIVERY = WebhookDelivery.__table__


@dataclass(frozen=True)
class WebhookOptions:
    timeout_seconds: float = 5.0
    lease: timedelta = timedelta(minutes=5)
    max_attempts: int = 8
    first_backoff: timedelta = timedelta(seconds=10)
    max_backoff: timedelta = timedelta(hours=1)
    batch: int = 500
    concurrency: int = 8


def backoff(options: WebhookOptions, attempts: int) -> timedelta:
    """After the ``attempts``-th failure: 10 s, 20 s, 40 s … at most an hour (defaults)."""
    return min(options.first_backoff * 2 ** max(attempts - 1, 0), options.max_backoff)


@dataclass(frozen=True)
class Claimed:
    id: int
    subscription_id: int
    url: str
    secret: str
    attempt: int
    event: dict[str, Any]


def _runs(session: Session, now: datetime, options: WebhookOptions) -> list[list[int]]:
    """Due deliveries grouped by (subscription, case), each group starting at its pair's head, in order."""
    earlier = DELIVERY.alias("earlier")
    held = exists().where(  # an earlier delivery of the pair that is dead, backing off or leased: wait behind it
        earlier.c.subscription_id == DELIVERY.c.subscription_id, earlier.c.case_id == DELIVERY.c.case_id,
        earlier.c.position < DELIVERY.c.position,
        or_(earlier.c.state == "dead", and_(earlier.c.state == "pending", earlier.c.next_attempt_at > now)),
    )
    candidates = session.execute(
        select(DELIVERY.c.id, DELIVERY.c.subscription_id, DELIVERY.c.case_id, DELIVERY.c.position)
        .join(WebhookSubscription, WebhookSubscription.id == DELIVERY.c.subscription_id)
        .where(DELIVERY.c.state == "pending", DELIVERY.c.next_attempt_at <= now, WebhookSubscription.active, ~held)
        .order_by(DELIVERY.c.position)
        .limit(options.batch)
        .with_for_update(skip_locked=True, of=DELIVERY)
    ).all()
    if not candidates:
        return []
    heads = dict(
        ((row[0], row[1]), row[2])
        for row in session.execute(
            select(DELIVERY.c.subscription_id, DELIVERY.c.case_id, func.min(DELIVERY.c.position))
            .where(
                DELIVERY.c.state.in_(("pending", "dead")),
                DELIVERY.c.subscription_id.in_({c.subscription_id for c in candidates}),
                DELIVERY.c.case_id.in_({c.case_id for c in candidates}),
            )
            .group_by(DELIVERY.c.subscription_id, DELIVERY.c.case_id)
        )
    )
    pairs: dict[tuple[int, int], list[Any]] = defaultdict(list)
    for candidate in candidates:
        pairs[(candidate.subscription_id, candidate.case_id)].append(candidate)
    runs = [[c.id for c in run] for pair, run in pairs.items() if heads.get(pair) == run[0].position]
    return _within_lease(runs, options)


def _within_lease(runs: list[list[int]], options: WebhookOptions) -> list[list[int]]:
    """No more than the senders can finish before the lease runs out, were every POST to time out.

    Otherwise another worker could claim a delivery this one is still working through and send it twice,
    or overtake it.
    """
    per_run = max(1, int(options.lease.total_seconds() / (2 * options.timeout_seconds)))
    budget = per_run * options.concurrency
    kept: list[list[int]] = []
    for run in runs:
        if budget <= 0:
            break
        kept.append(run[: min(per_run, budget)])
        budget -= len(kept[-1])
    return kept


def claim(engine: Engine, *, now: datetime, options: WebhookOptions) -> list[list[Claimed]]:
    """Lease the heads of due (subscription, case) lines with what follows them; one short transaction."""
    with unit_of_work(engine) as session:
        runs = _runs(session, now, options)
        ids = [i for run in runs for i in run]
        if not ids:
            return []
        session.execute(update(DELIVERY).where(DELIVERY.c.id.in_(ids)).values(next_attempt_at=now + options.lease))
        rows = {
            row.id: row
            for row in session.execute(
                select(
                    DELIVERY.c.id, DELIVERY.c.subscription_id, DELIVERY.c.attempts, WebhookSubscription.url,
                    WebhookSubscription.secret, Event.id.label("event_id"), Event.position, Event.case_id,
                    Case.number, Event.seq, Event.type, Event.actor_kind, Event.actor_id, Event.at, Event.delta,
                )
                .join(WebhookSubscription, WebhookSubscription.id == DELIVERY.c.subscription_id)
                .join(Event, Event.id == DELIVERY.c.event_id)
                .join(Case, Case.id == Event.case_id)
                .where(DELIVERY.c.id.in_(ids))
            )
        }
    return [[_claimed(rows[i]) for i in run] for run in runs]


def _claimed(row: Any) -> Claimed:
    event = {
        "id": row.event_id, "position": row.position, "case_id": row.case_id, "case_number": row.number,
        "seq": row.seq, "type": row.type, "actor": {"kind": row.actor_kind, "id": row.actor_id},
        "at": row.at.isoformat(), "delta": row.delta,
    }
    return Claimed(row.id, row.subscription_id, row.url, row.secret, row.attempts + 1, event)


def body_of(item: Claimed) -> bytes:
    payload = {"delivery_id": item.id, "subscription_id": item.subscription_id, "attempt": item.attempt,
               "event": item.event}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def post(client: httpx.Client, item: Claimed, *, now: datetime) -> tuple[int | None, str | None]:
    """POST one signed delivery; (status, error) — a 2xx status with no error is a success."""
    body = body_of(item)
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json", DELIVERY_HEADER: str(item.id), EVENT_HEADER: str(item.event["id"]),
        TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(item.secret, timestamp=timestamp, body=body),
        "User-Agent": "xietong-webhooks/1",
    }
    try:
        response = client.post(item.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"


@dataclass(frozen=True)
class Outcome:
    item: Claimed
    status: int | None
    error: str | None
    at: datetime
    rest: tuple[int, ...]  # what followed a failed delivery in its run: unleased, waiting behind it


def _values(outcome: Outcome, options: WebhookOptions) -> dict[str, Any]:
    item, values = outcome.item, {"attempts": outcome.item.attempt, "last_attempt_at": outcome.at,
                                  "last_status": outcome.status, "last_error": outcome.error}
    if outcome.error is None:
        values.update(state="delivered", delivered_at=outcome.at)
    elif item.attempt >= options.max_attempts:
        values.update(state="dead")
    else:
        values.update(next_attempt_at=outcome.at + backoff(options, item.attempt))
    return values


def record(engine: Engine, outcomes: list[Outcome], options: WebhookOptions) -> None:
    """Every outcome of a round in one transaction (a kill before it only means those are sent again)."""
    with unit_of_work(engine) as session:
        for outcome in outcomes:
            session.execute(
                update(DELIVERY).where(DELIVERY.c.id == outcome.item.id, DELIVERY.c.state == "pending")
                .values(_values(outcome, options))
            )
            if outcome.rest:
                session.execute(update(DELIVERY).where(DELIVERY.c.id.in_(outcome.rest))
                                .values(next_attempt_at=outcome.at))


def _send_run(client: httpx.Client, run: list[Claimed], clock: Callable[[], datetime]) -> list[Outcome]:
    outcomes = []
    for i, item in enumerate(run):
        status, error = post(client, item, now=utcnow())  # signed with the real time, whatever ``clock`` says
        rest = tuple(r.id for r in run[i + 1:]) if error is not None else ()
        outcomes.append(Outcome(item, status, error, clock(), rest))
        if error is not None:
            logger.info("webhook delivery %s failed (attempt %s): %s", item.id, item.attempt, error)
            break
    return outcomes


def deliver_webhooks(engine: Engine, *, options: WebhookOptions | None = None, now: datetime | None = None) -> int:
    """One round: claim, send (several lines at once), record; returns how many deliveries were attempted."""
    options = options or WebhookOptions()
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utcnow
    runs = claim(engine, now=clock(), options=options)
    if not runs:
        return 0
    with httpx.Client(timeout=options.timeout_seconds, follow_redirects=False) as client:
        if len(runs) == 1:
            outcomes = _send_run(client, runs[0], clock)
        else:
            with ThreadPoolExecutor(max_workers=min(options.concurrency, len(runs))) as pool:
                outcomes = [o for run in pool.map(lambda run: _send_run(client, run, clock), runs) for o in run]
    record(engine, outcomes, options)
    return len(outcomes)
