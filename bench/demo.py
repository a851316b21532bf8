# ruff: noqa: E402  (the imports below need sys.path set first)
"""Demo build benchmark: ``xietong demo``'s work — migrations, then the whole demo city — on a fresh database.

Times the build on a new SQLite file and on a new PostgreSQL database (created and dropped here),
and prints the figure with the machine's load, since the build shares the CPU with whatever else runs.

    python bench/demo.py                          # SQLite and PostgreSQL, 37,000 cases
    python bench/demo.py --db sqlite --cases 5000
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and bench/http.py would hide the standard ``http``.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scratch import scratch_postgres
from xietong.config import Settings
from xietong.db import migrate
from xietong.db.engine import create_db_engine
from xietong.demo.load import DEFAULT_CASES, load_demo

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
PG_BENCH_DB = "xietong_bench_demo"
TARGET_SECONDS = 60.0


def run(kind: str, cases: int, today: date | None, pg_url: str) -> float:
    """Build the demo into a fresh database of ``kind``; returns the seconds it took, migrations included."""
    data_dir = Path(tempfile.mkdtemp(prefix="xietong-demo-bench-"))
    if kind == "sqlite":
        settings = Settings(data_dir=data_dir, demo=True)
    else:
        settings = Settings(database_url=scratch_postgres(pg_url, PG_BENCH_DB, create=True), demo=True)
    engine = create_db_engine(settings)
    load_before = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    migrate.upgrade(engine)
    migrated = time.perf_counter() - started
    summary = load_demo(engine, settings, cases=cases, today=today)
    seconds = time.perf_counter() - started
    engine.dispose()
    rows = summary.counts
    print(f"\n=== {kind} ===")
    print(
        f"migrations {migrated:6.1f} s   demo {seconds - migrated:6.1f} s   total {seconds:6.1f} s   "
        f"(this process's CPU {time.process_time() - cpu:.1f} s; load average {load_before:.1f} → "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )
    print(
        f"cases {rows['cases']:,}   events {rows['events']:,}   tasks {rows['tasks']:,}   "
        f"attachments {rows['attachments']:,}   → {rows['cases'] / seconds:,.0f} cases/s"
    )
    print("statuses " + ", ".join(f"{k} {v:,}" for k, v in summary.statuses.items()))
    print(f"open cases with a red card {summary.cards['red']:,}, yellow {summary.cards['yellow']:,}")
    print(f"{'MET   ' if seconds < TARGET_SECONDS else 'MISSED'} under {TARGET_SECONDS:.0f} s")
    if kind == "postgresql":
        scratch_postgres(pg_url, PG_BENCH_DB, create=False)
    shutil.rmtree(data_dir, ignore_errors=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--cases", type=int, default=DEFAULT_CASES)
    parser.add_argument("--date", type=date.fromisoformat, default=None, help="reference date (default today)")
    parser.add_argument("--pg-url", default=os.environ.get("XIETONG_TEST_DATABASE_URL", PG_URL))
    args = parser.parse_args()
    for kind in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        run(kind, args.cases, args.date, args.pg_url)


if __name__ == "__main__":
    main()
