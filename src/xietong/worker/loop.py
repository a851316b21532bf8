"""The worker: background duties that follow commits — the change-log sequencer, outbox delivery, timers,
webhooks (fan-out from the change log in a duty's transaction; sending outside any, ``dataservice/delivery.py``)
and (given the instance secret) the hourly signed checkpoints of the audit chains.

On SQLite each tick also checkpoints the WAL (PASSIVE), so requests need not (``xietong.db.engine``).

Any number of workers may run against one database: each duty takes its own lock or claims rows
with ``FOR UPDATE SKIP LOCKED``. ``serve --demo`` runs one in a thread; production runs
``xietong worker`` as its own process(es).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from xietong.cases import cards as _cards  # noqa: F401  (registers the cases domain's timer handlers)
from xietong.cases import jobs as _jobs  # noqa: F401  (registers the cases domain's outbox handlers)
from xietong.cases.changelog import sequence_events
from xietong.dataservice.delivery import WebhookOptions, deliver_webhooks
from xietong.dataservice.fanout import fan_out_webhooks
from xietong.dataservice.housekeeping import purge_expired
from xietong.db.base import utcnow
from xietong.db.engine import checkpoint
from xietong.db.session import unit_of_work
from xietong.documents.issue import issue_documents
from xietong.integrations import installed as _integrations
from xietong.integrations.outbound import OutboundOptions, send_outbound
from xietong.monitor.upkeep import keep_summaries
from xietong.oversight import jobs as _oversight_jobs  # noqa: F401  (registers oversight's outbox and timer handlers)
from xietong.security.audit_chain import checkpoint_due
from xietong.worker.outbox import deliver_outbox
from xietong.worker.timers import fire_timers

logger = logging.getLogger(__name__)

Duty = Callable[[Session], int]
DUTIES: tuple[tuple[str, Duty], ...] = (
    ("sequence_events", sequence_events),
    ("deliver_outbox", deliver_outbox),
    ("fire_timers", fire_timers),
    ("fan_out_webhooks", fan_out_webhooks),
    ("issue_documents", issue_documents),
    ("keep_summaries", keep_summaries),
)
QUIET = frozenset({"audit_checkpoint", "purge_expired"})  # upkeep: never makes the tick count as busy
PURGE_EVERY = timedelta(minutes=10)


def checkpoint_duty(secret: str) -> tuple[str, Duty]:
    """The duty signing the audit chains' checkpoints; it needs the instance secret, which only callers know."""

    def duty(session: Session) -> int:
        return checkpoint_due(session, secret=secret, now=utcnow())

    return ("audit_checkpoint", duty)


def housekeeping_duty(history_days: int) -> tuple[str, Duty]:
    """The duty purging expired bookkeeping rows (``dataservice/housekeeping.py``), at most every ten minutes
    in each worker process — it is upkeep, and repeating it is harmless."""
    last: list[datetime] = []

    def duty(session: Session) -> int:
        now = utcnow()
        if last and now - last[0] < PURGE_EVERY:
            return 0
        last[:] = [now]
        return purge_expired(session, now=now, history=timedelta(days=history_days))

    return ("purge_expired", duty)


def run_once(
    engine: Engine, extra: tuple[tuple[str, Duty], ...] = (), *, webhooks: WebhookOptions | None = None,
    outbound: OutboundOptions | None = None,
) -> dict[str, int]:
    """Run every duty once (and the ``extra`` ones a caller adds), each in its own transaction; returns how
    much each did. Messages to outside systems are sent only given ``outbound`` (it carries the settings that
    say where those systems are)."""
    done = {}
    settings = outbound.settings if outbound is not None else None
    followers = _integrations.always(settings) + (_integrations.duties(settings) if settings is not None else ())
    for name, duty in DUTIES + extra + followers:
        with unit_of_work(engine) as session:
            done[name] = duty(session)
    done["deliver_webhooks"] = deliver_webhooks(engine, options=webhooks)  # its own short transactions
    if outbound is not None:
        done["send_outbound"] = send_outbound(engine, options=outbound)  # likewise
    checkpoint(engine)  # upkeep, not work: it never counts as the tick being busy
    return done


def run_forever(
    engine: Engine, stop: threading.Event, *, idle_seconds: float = 1.0, extra: tuple[tuple[str, Duty], ...] = (),
    webhooks: WebhookOptions | None = None, outbound: OutboundOptions | None = None,
) -> None:
    """Tick until ``stop`` is set; a failing tick is logged and retried, never fatal."""
    while not stop.is_set():
        try:
            done = run_once(engine, extra, webhooks=webhooks, outbound=outbound)
            busy = any(v for k, v in done.items() if k not in QUIET)
        except Exception:  # the worker outlives a database blip; the next tick retries
            logger.exception("worker tick failed")
            busy = False
        if not busy:
            stop.wait(idle_seconds)


def start_in_thread(
    engine: Engine, *, idle_seconds: float = 1.0, extra: tuple[tuple[str, Duty], ...] = (),
    outbound: OutboundOptions | None = None,
) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(
        target=run_forever, args=(engine, stop),
        kwargs={"idle_seconds": idle_seconds, "extra": extra, "outbound": outbound},
        name="xietong-worker", daemon=True,
    )
    thread.start()
    return thread, stop
