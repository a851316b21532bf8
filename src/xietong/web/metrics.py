"""Prometheus metrics at ``/metrics`` (prometheus-client), one registry per app.

Counted in the process: request latency by method and route template (never the raw path, whose ids
would make a series per case), requests by status, and task completions (successful answers of the
routes in ``TASK_COMPLETION_ROUTES``). Computed from the database when scraped, so every app host
reports the same instance-wide truth: how late the oldest due outbox message and the oldest due timer
are, how many are waiting, and how many committed events wait for the change-log sequencer.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from xietong.cases.models import Event
from xietong.db.base import utcnow
from xietong.db.session import read_only
from xietong.worker.models import OutboxMessage, Timer

#: Routes whose success is one task completed (the page engineer's form route joins here).
TASK_COMPLETION_ROUTES = frozenset({"/api/v1/tasks/{task_id}/complete"})
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class BacklogCollector(Collector):
    """Outbox and timer lag, and the sequencer's backlog, read from the database at each scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = utcnow()
        outbox, timer = OutboxMessage.__table__, Timer.__table__
        with read_only(self.engine) as session:
            oldest_message, waiting_messages = session.execute(
                select(func.min(outbox.c.available_at), func.count()).where(
                    outbox.c.state == "pending", outbox.c.available_at <= now
                )
            ).one()
            oldest_timer, waiting_timers = session.execute(
                select(func.min(timer.c.fire_at), func.count()).where(
                    timer.c.state == "pending", timer.c.fire_at <= now
                )
            ).one()
            unsequenced = session.scalar(select(func.count()).where(Event.__table__.c.position.is_(None)))
        yield _gauge("xietong_outbox_lag_seconds", "Age of the oldest due outbox message", _age(oldest_message, now))
        yield _gauge("xietong_outbox_due_messages", "Outbox messages due and not yet delivered", waiting_messages)
        yield _gauge("xietong_timer_lag_seconds", "How late the oldest due timer is", _age(oldest_timer, now))
        yield _gauge("xietong_timers_due", "Timers due and not yet fired", waiting_timers)
        yield _gauge("xietong_changelog_unsequenced_events", "Events waiting for a position", unsequenced or 0)


class Metrics:
    def __init__(self, engine: Engine) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "xietong_http_request_duration_seconds", "Request latency by route template",
            ["method", "route"], buckets=BUCKETS, registry=self.registry,
        )
        self.requests = Counter(
            "xietong_http_requests", "Requests by route template and status", ["method", "route", "status"],
            registry=self.registry,
        )
        self.task_completions = Counter("xietong_task_completions", "Tasks completed", registry=self.registry)
        self.registry.register(BacklogCollector(engine))

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.latency.labels(method, route).observe(seconds)
        self.requests.labels(method, route, str(status)).inc()
        if status < 400 and route in TASK_COMPLETION_ROUTES:
            self.task_completions.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _age(since: datetime | None, now: datetime) -> float:
    return max(0.0, (now - since).total_seconds()) if since is not None else 0.0


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value))
