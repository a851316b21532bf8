"""Engine benchmark: the reference joint-approval process through xietong's real service layer.

Every instance creation and every task completion is its own transaction doing what an HTTP
request does minus HTTP: load the principal, lock the case, check permission, decide, assign,
write tasks, timers, outbox and the hash-chained event. Baselines in the same run: SpiffWorkflow
(BPMN, its serializer, one row per workflow) and a raw-SQL loop (the practical ceiling).

    python bench/engine.py                      # SQLite and PostgreSQL
    python bench/engine.py --db sqlite -n 300   # one database, fewer instances
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.factories import joint_approval_process, make_city, publish_matter

from xietong.cases import service
from xietong.config import Settings
from xietong.db import migrate
from xietong.db.engine import create_db_engine, sqlite_pragmas
from xietong.db.session import unit_of_work
from xietong.directory.models import Membership
from xietong.engine.models import Task
from xietong.security.principal import load_principal

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
PG_BENCH_DB = "xietong_bench"


class Bench:
    """A seeded database and a driver that plays every role of the reference process."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        with unit_of_work(engine) as session:
            self.city = make_city(session, holders=1)
            self.local_id = publish_matter(session, self.city, joint_approval_process()).id
            self.applicant = self.city.person("office", "clerk").id
            self.applicant_unit = self.city.units["office"].id
            self.acceptor = self.city.person("staffing", "clerk").id
            rows = session.execute(select(Membership.unit_id, Membership.post_id, Membership.person_id)).all()
            self.holder = {(u, p): person for u, p, person in rows}

    def _tx(self, fn: Callable[..., Any], person_id: int, **kw: Any) -> Any:
        with unit_of_work(self.engine) as session:
            return fn(session, principal=load_principal(session, person_id), **kw)

    def instance(self, latencies: list[float], deny_reviews: bool = False) -> int:
        case_id, _ = self._tx(service.submit_case, self.applicant, local_matter_id=self.local_id,
                              applicant_unit_id=self.applicant_unit, form={"title": "基准测试申请"})
        pending = self._tx(service.accept_case, self.acceptor, case_id=case_id)
        while pending:
            task_id = pending.pop(0)
            with self.engine.connect() as conn:
                unit_id, post_id, node = conn.execute(select(Task.unit_id, Task.post_id, Task.node_id)
                                                      .where(Task.id == task_id)).one()
            approved = not (deny_reviews and node.startswith("review"))
            started = time.perf_counter()
            pending += self._tx(service.complete_task, self.holder[(unit_id, post_id)], task_id=task_id,
                                approved=approved, opinion="同意" if approved else "不同意")
            latencies.append(time.perf_counter() - started)
            if deny_reviews and len(latencies) >= self.history_goal:
                return case_id
        return case_id

    history_goal = 0


def run_xietong(engine: Engine, n: int, connections: int = 1) -> dict[str, Any]:
    bench = Bench(engine)
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(count: int) -> None:
        mine: list[float] = []
        for _ in range(count):
            bench.instance(mine)
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n // connections,)) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    done = (n // connections) * connections
    return {"instances_per_s": done / wall, **_percentiles(latencies)}


def run_history(engine: Engine, targets: list[int]) -> dict[int, float]:
    """One looping case (reviews deny, back to accept): per-task latency around each history length."""
    bench = Bench(engine)
    bench.history_goal = max(targets) + 10
    latencies: list[float] = []
    bench.instance(latencies, deny_reviews=True)
    return {t: statistics.fmean(latencies[t:t + 10]) * 1000 for t in targets if len(latencies) >= t + 10}


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"p50_ms": pick(0.50), "p99_ms": pick(0.99)}


def fresh_database(kind: str, pool_size: int) -> tuple[Engine, str, Settings]:
    if kind == "sqlite":
        data_dir = Path(tempfile.mkdtemp(prefix="xietong-bench-"))
        settings = Settings(data_dir=data_dir, demo=True, pool_size=pool_size)
        url = settings.resolved_database_url
    else:
        admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {PG_BENCH_DB}"))
        admin.dispose()
        url = make_url(PG_URL).set(database=PG_BENCH_DB).render_as_string(hide_password=False)
        settings = Settings(database_url=url, demo=True, pool_size=pool_size)
    engine = create_db_engine(settings)
    migrate.upgrade(engine)
    return engine, settings.resolved_database_url, settings


def baseline_url(kind: str, name: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{Path(tempfile.mkdtemp(prefix=f'bench-{name}-')) / 'b.db'}"
    return make_url(PG_URL).set(database=PG_BENCH_DB).render_as_string(hide_password=False)


def verdict(ok: bool) -> str:
    return "MET   " if ok else "MISSED"


def bench_database(kind: str, n: int, history: list[int], with_spiff: bool) -> None:
    print(f"\n=== {kind} ===")
    engine, url, settings = fresh_database(kind, pool_size=5)
    print(f"settings: url kind={make_url(url).get_backend_name()} driver={make_url(url).get_driver_name()} "
          f"pool_size={settings.pool_size}" + (f" pragmas={sqlite_pragmas(engine)}" if kind == "sqlite" else ""))
    one = run_xietong(engine, n, connections=1)
    print(f"xietong, 1 connection : {one['instances_per_s']:8.1f} instances/s   per task p50 {one['p50_ms']:.2f} ms"
          f"  p99 {one['p99_ms']:.2f} ms")
    four = run_xietong(engine, n, connections=4)
    print(f"xietong, 4 connections: {four['instances_per_s']:8.1f} instances/s   per task p50 {four['p50_ms']:.2f} ms"
          f"  p99 {four['p99_ms']:.2f} ms")
    hist = run_history(engine, history)
    print("xietong, one looping case, ms per task at history " +
          ", ".join(f"{k}: {v:.2f}" for k, v in hist.items()))
    engine.dispose()
    from bench.baselines.raw import run_raw

    raw = run_raw(baseline_url(kind, "raw"), n, history_tasks=history)
    print(f"raw ceiling, 1 conn   : {raw['instances_per_s']:8.1f} instances/s   per task p50 {raw['p50_ms']:.2f} ms"
          f"  p99 {raw['p99_ms']:.2f} ms")
    spiff = {}
    if with_spiff:
        from bench.baselines.spiff import run_spiff

        spiff = run_spiff(baseline_url(kind, "spiff"), min(n, 200), history_tasks=history, max_seconds=90)
        print(f"SpiffWorkflow, 1 conn : {spiff.get('instances_per_s') or 0:8.1f} instances/s   per task p50 "
              f"{spiff.get('p50_ms') or 0:.2f} ms  history ms {spiff.get('history_ms')}  error={spiff.get('error')}")
    ratio_raw = one["instances_per_s"] / raw["instances_per_s"]
    print(f"ratio xietong ÷ raw ceiling     : {ratio_raw:.2f}")
    if spiff.get("instances_per_s"):
        ratio_spiff = one["instances_per_s"] / spiff["instances_per_s"]
        print(f"ratio xietong ÷ SpiffWorkflow   : {ratio_spiff:.2f}")
    else:
        ratio_spiff = None
    flat = hist.get(max(history), 0) / hist[min(history)] if hist.get(min(history)) else float("inf")
    print(f"ratio latency at {max(history)} ÷ at {min(history)} tasks: {flat:.2f}")
    if kind == "sqlite":
        print(f"{verdict(one['instances_per_s'] >= 500)} ≥ 500 instances/s on SQLite")
        print(f"{verdict(ratio_raw >= 0.25)} ≥ 25 % of the raw ceiling")
        if ratio_spiff is not None:
            print(f"{verdict(ratio_spiff >= 4)} ≈ 4× SpiffWorkflow")
    elif ratio_spiff is not None:
        print(f"{verdict(ratio_spiff >= 1.5)} ≥ 1.5× SpiffWorkflow on PostgreSQL with one connection")
    print(f"{verdict(flat <= 1.3)} latency at {max(history)} tasks of history within 1.3× of that at {min(history)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("-n", type=int, default=400, help="instances per run")
    parser.add_argument("--history", default="10,100,1000")
    parser.add_argument("--no-spiff", action="store_true")
    args = parser.parse_args()
    history = [int(h) for h in args.history.split(",")]
    for kind in (["sqlite", "postgresql"] if args.db == "both" else [args.db]):
        bench_database(kind, args.n, history, not args.no_spiff)


if __name__ == "__main__":
    main()
