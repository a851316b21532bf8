# ruff: noqa: E402  (the imports below need sys.path set first)
"""Audit chain benchmark: what the global event chain adds to the change-log sequencer, and how fast the
chains verify.

Builds a small demo city into a fresh SQLite file (or PostgreSQL database), then times: sequencing every
event with the chain (positions and ``chain_hash`` in one UPDATE) against the cost of the SM3 links alone,
``verify_events`` over them all, appending audit records one transaction each, and ``verify_audit``.
Prints figures with the machine's load; asserts nothing.

    python bench/audit_chain.py --db sqlite --cases 3000
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

# Run as a script, this file's folder comes first on sys.path, and bench/http.py would hide the standard ``http``.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scratch import scratch_postgres
from xietong.cases.changelog import sequence_events
from xietong.cases.models import Event
from xietong.config import Settings
from xietong.db import migrate
from xietong.db.engine import create_db_engine
from xietong.db.session import read_only, unit_of_work
from xietong.demo.load import load_demo
from xietong.security.audit import record
from xietong.security.audit_chain import GENESIS, chain_link, verify_audit, verify_events
from xietong.security.principal import Principal

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
PG_BENCH_DB = "xietong_bench_audit_chain"
SECRET = "bench-secret-bench-secret-bench-secret-0123"


def run(kind: str, cases: int, audits: int, pg_url: str) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="xietong-chain-bench-"))
    url = None if kind == "sqlite" else scratch_postgres(pg_url, PG_BENCH_DB, create=True)
    settings = Settings(data_dir=data_dir, database_url=url, demo=True)
    engine = create_db_engine(settings)
    migrate.upgrade(engine)
    load_demo(engine, settings, cases=cases, fork=False)
    load = os.getloadavg()[0]

    with read_only(engine) as session:
        hashes = session.scalars(select(Event.hash).order_by(Event.id)).all()
    started = time.perf_counter()
    chain = GENESIS
    for position, own in enumerate(hashes, 1):
        chain = chain_link(chain, position, own)
    links = time.perf_counter() - started

    started = time.perf_counter()
    while True:
        with unit_of_work(engine) as session:
            if not sequence_events(session):
                break
    sequenced = time.perf_counter() - started

    started = time.perf_counter()
    with read_only(engine) as session:
        events = verify_events(session, secret=SECRET)
    verified = time.perf_counter() - started

    who = Principal(kind="person", id=1)
    started = time.perf_counter()
    for i in range(audits):
        with unit_of_work(engine) as session:
            record(session, who, "bench.action", target_kind="unit", target_id=i, detail={"i": i})
    appended = time.perf_counter() - started
    started = time.perf_counter()
    with read_only(engine) as session:
        trail = verify_audit(session, secret=SECRET)
        total = session.scalar(select(func.count()).select_from(Event))
    audit_verified = time.perf_counter() - started
    engine.dispose()
    if url:
        scratch_postgres(pg_url, PG_BENCH_DB, create=False)
    shutil.rmtree(data_dir, ignore_errors=True)

    n = len(hashes)
    print(f"\n=== {kind}: {cases:,} demo cases, {total:,} events ===  load average {load:.1f}, {os.cpu_count()} CPUs")
    print(f"SM3 links alone            {links * 1e6 / n:8.1f} µs/event   ({links:.2f} s)")
    print(f"sequencer with the chain   {sequenced * 1e6 / n:8.1f} µs/event   ({sequenced:.2f} s, batches of 5,000)")
    print(f"verify_events              {verified * 1e6 / n:8.1f} µs/event   ({verified:.2f} s)  ok={events.ok}")
    print(f"audit record, own commit   {appended * 1e3 / audits:8.2f} ms/record  ({audits:,} records)")
    print(f"verify_audit               {audit_verified * 1e6 / max(trail.checked, 1):8.1f} µs/record  ok={trail.ok}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--audits", type=int, default=1000)
    parser.add_argument("--pg-url", default=os.environ.get("XIETONG_TEST_DATABASE_URL", PG_URL))
    args = parser.parse_args()
    for kind in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        run(kind, args.cases, args.audits, args.pg_url)


if __name__ == "__main__":
    main()
