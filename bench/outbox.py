# ruff: noqa: E402  (the imports below need sys.path set first)
"""Webhook benchmark: deliveries per second to a local receiver, and the lag from commit to delivery.

Throughput: N cases are filed (one ``case.submitted`` event each, so N independent (subscription, case)
lines), sequenced and fanned out; then the delivery round runs until every delivery is recorded delivered,
and deliveries/s is N over that time. The receiver is a real HTTP server on loopback that checks every
signature (tests/dataservice/receiver.py).

Lag: a real worker loop runs in a thread (sequencer → fan-out → delivery, idle 50 ms) while cases are
filed at a steady rate; for each event the lag is the receiver's arrival time minus the event's time (set
in the filing transaction just before it commits). It includes the sequencer's tick: positions are given
after commit by design (``cases/changelog.py``).

    python bench/outbox.py                     # SQLite and PostgreSQL
    python bench/outbox.py --db sqlite -n 500 --rate 20 --seconds 10
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, select

# Run as a script, this file's folder comes first on sys.path, and bench/http.py would hide the standard ``http``.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.dataservice.receiver import Receiver
from tests.factories import City, linear_process, make_city, post_rule, publish_matter

from bench.scratch import scratch_postgres
from xietong.cases import service
from xietong.cases.changelog import sequence_events
from xietong.cases.models import Event
from xietong.config import Settings
from xietong.dataservice.clients import register_client
from xietong.dataservice.delivery import WebhookOptions, deliver_webhooks
from xietong.dataservice.fanout import fan_out_webhooks
from xietong.dataservice.models import WebhookDelivery
from xietong.dataservice.subscriptions import create_subscription
from xietong.db import migrate
from xietong.db.base import utcnow
from xietong.db.engine import create_db_engine
from xietong.db.session import unit_of_work
from xietong.security.principal import SYSTEM_PRINCIPAL
from xietong.worker.loop import start_in_thread

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
PG_BENCH_DB = f"xietong_bench_outbox_{os.getpid()}"


def fresh_database(kind: str) -> Engine:
    if kind == "sqlite":
        settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="xietong-bench-outbox-")), demo=True, pool_size=10)
    else:
        url = scratch_postgres(PG_URL, PG_BENCH_DB, create=True)
        settings = Settings(database_url=url, demo=True, pool_size=10)
    engine = create_db_engine(settings)
    migrate.upgrade(engine)
    return engine


def seed(engine: Engine, receiver: Receiver) -> tuple[City, int]:
    with unit_of_work(engine) as session:
        city = make_city(session)
        local = publish_matter(session, city, linear_process(("review", post_rule("finance"))))
        client = register_client(session, principal=SYSTEM_PRINCIPAL, name="数据中心", scopes=["cases:read"],
                                 unit_ids=[city.units["office"].id], now=utcnow()).client
        _, receiver.secret = create_subscription(session, principal=SYSTEM_PRINCIPAL, client_pk=client.id,
                                                 url=receiver.url, event_types=["*"], now=utcnow())
    return city, local.id


def file_cases(engine: Engine, city: City, matter_id: int, n: int, tag: str) -> None:
    with unit_of_work(engine) as session:
        principal = city.principal(session, "office")
    for i in range(n):
        with unit_of_work(engine) as session:
            service.submit_case(session, principal=principal, local_matter_id=matter_id,
                                applicant_unit_id=city.units["office"].id, form={"title": f"{tag}{i}"})


def throughput(engine: Engine, city: City, matter_id: int, n: int, options: WebhookOptions) -> float:
    file_cases(engine, city, matter_id, n, "吞吐")
    with unit_of_work(engine) as session:
        sequence_events(session)
        while fan_out_webhooks(session):
            pass
    started = time.perf_counter()
    while deliver_webhooks(engine, options=options):
        pass
    elapsed = time.perf_counter() - started
    with unit_of_work(engine) as session:
        left = session.scalar(select(WebhookDelivery.id).where(WebhookDelivery.state != "delivered").limit(1))
    assert left is None, "some deliveries were not delivered"
    return n / elapsed


def lag(engine: Engine, city: City, matter_id: int, receiver: Receiver, rate: float, seconds: float,
        options: WebhookOptions) -> list[float]:
    receiver.received.clear()
    first_new = (_max_event(engine) or 0) + 1
    thread, stop = start_in_thread(engine, idle_seconds=0.05)
    try:
        count = int(rate * seconds)
        started = time.perf_counter()
        for i in range(count):
            file_cases(engine, city, matter_id, 1, f"时延{i}")
            pause = started + (i + 1) / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        deadline = time.monotonic() + 60
        while len({r.event_id for r in receiver.received if r.event_id >= first_new}) < count:
            if time.monotonic() > deadline:
                raise AssertionError("deliveries did not catch up within a minute")
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
    with unit_of_work(engine) as session:
        at = {row[0]: row[1] for row in session.execute(select(Event.id, Event.at).where(Event.id >= first_new))}
    first_arrival: dict[int, float] = {}
    for r in receiver.received:
        first_arrival.setdefault(r.event_id, r.arrived)
    return sorted((first_arrival[e] - at[e].timestamp()) * 1000 for e in at)


def _max_event(engine: Engine) -> int | None:
    with unit_of_work(engine) as session:
        return session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1))


def percentile(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def bench(kind: str, args: argparse.Namespace) -> None:
    print(f"\n=== {kind} ===")
    engine = fresh_database(kind)
    receiver = Receiver().start()
    options = WebhookOptions(timeout_seconds=5, concurrency=args.concurrency)
    try:
        city, matter_id = seed(engine, receiver)
        rates = [throughput(engine, city, matter_id, args.n, options) for _ in range(args.repeat)]
        print(f"deliveries/s to a local receiver ({args.n} deliveries, {args.concurrency} senders, "
              f"{args.repeat} rounds): median {statistics.median(rates):.0f}, rounds "
              + ", ".join(f"{r:.0f}" for r in rates))
        lags = lag(engine, city, matter_id, receiver, args.rate, args.seconds, options)
        print(f"commit → delivery lag ({len(lags)} events at {args.rate:g}/s, worker idle 50 ms): "
              f"p50 {percentile(lags, 50):.0f} ms, p99 {percentile(lags, 99):.0f} ms, max {lags[-1]:.0f} ms")
        print(f"receiver refused {receiver.refused} signatures")
    finally:
        receiver.stop()
        engine.dispose()
        if kind == "postgresql":
            scratch_postgres(PG_URL, PG_BENCH_DB, create=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("-n", type=int, default=1000, help="deliveries per throughput round")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8, help="deliveries sent at once (distinct cases)")
    parser.add_argument("--rate", type=float, default=20, help="cases filed per second while measuring lag")
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    for kind in (["sqlite", "postgresql"] if args.db == "both" else [args.db]):
        bench(kind, args)


if __name__ == "__main__":
    main()
