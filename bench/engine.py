# ruff: noqa: E402  (the imports below need sys.path set first)
"""Engine benchmark: the reference joint-approval process through xietong's real service layer.

Every instance creation and every task completion is its own transaction doing what an HTTP
request does minus HTTP: load the principal, lock the case, check permission, decide, assign,
write tasks, timers, outbox and the hash-chained event. Baselines in the same run: SpiffWorkflow
(BPMN, its serializer, one row per workflow) and a raw-SQL loop (the practical ceiling).

The driver plays every role: it knows from the reference process which node each returned task
is (accept → the three reviews in flow order → approve, or accept again after a denial) and acts
as the person holding that node's post, so it reads nothing between transactions; a wrong guess
would fail the permission check and stop the run. After each run it checks that every instance
finished. Statements per operation are counted in the same run (``statements per operation``).

    python bench/engine.py                      # SQLite and PostgreSQL
    python bench/engine.py --db sqlite -n 300   # one database, fewer instances
    python bench/engine.py --repeat 5           # more rounds on a busy machine; medians decide
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, func, select
from sqlalchemy.engine import make_url

# Run as a script, this file's folder comes first on sys.path, and bench/http.py would hide the standard ``http``.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.factories import joint_approval_process, make_city, publish_matter

from bench.scratch import scratch_postgres
from xietong.cases import service
from xietong.cases.models import Case
from xietong.config import Settings
from xietong.db import migrate
from xietong.db.engine import PING_AFTER_IDLE_SECONDS, create_db_engine, sqlite_pragmas
from xietong.db.session import unit_of_work
from xietong.security.principal import load_principal

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
PG_BENCH_DB = f"xietong_bench_{os.getpid()}"  # one per run: runs on a shared server never drop each other's
REVIEWERS = ("finance", "hr_social", "big_data")
REVIEWS = tuple(f"review_{f}" for f in REVIEWERS)
WARM_UP = 10
HISTORY_WINDOW = 20


class Bench:
    """A seeded database and a driver that plays every role of the reference process."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        with unit_of_work(engine) as session:
            city = make_city(session, holders=1)
            self.local_id = publish_matter(session, city, joint_approval_process(REVIEWERS)).id
            self.applicant = city.person("office", "clerk").id
            self.applicant_unit = city.units["office"].id
            self.acceptor = city.person("staffing", "clerk").id
            self.holder = {
                "accept": city.person("staffing", "clerk").id,
                **{f"review_{f}": city.person(f, "section_chief").id for f in REVIEWERS},
                "approve": city.person("staffing", "leader_in_charge").id,
            }
            self.region_id = city.region.id

    def _tx(self, fn: Callable[..., Any], person_id: int, **kw: Any) -> Any:
        with unit_of_work(self.engine) as session:
            return fn(session, principal=load_principal(session, person_id), **kw)

    def instance(self, latencies: list[float], deny_reviews: bool = False, history_goal: int = 0) -> int:
        """Submit, accept and decide every task of one case; reviews deny (the case loops) if asked."""
        case_id, _ = self._tx(service.submit_case, self.applicant, local_matter_id=self.local_id,
                              applicant_unit_id=self.applicant_unit, form={"title": "基准测试申请"})
        pending = [(task_id, "accept") for task_id in self._tx(service.accept_case, self.acceptor, case_id=case_id)]
        while pending:
            task_id, node = pending.pop(0)
            approved = not (deny_reviews and node in REVIEWS)
            started = time.perf_counter()
            opened = self._tx(service.complete_task, self.holder[node], task_id=task_id,
                              approved=approved, opinion="同意" if approved else "不同意")
            latencies.append(time.perf_counter() - started)
            pending += zip(opened, _next_nodes(node, len(opened), deny_reviews), strict=True)
            if deny_reviews and len(latencies) >= history_goal:
                return case_id
        return case_id

    def _timed(self, latencies: list[float], fn: Callable[..., Any], person_id: int, **kw: Any) -> Any:
        started = time.perf_counter()
        out = self._tx(fn, person_id, **kw)
        latencies.append(time.perf_counter() - started)
        return out

    def mixed_instance(self, latencies: list[float], i: int) -> int:
        """As ``instance``, with a 补正 before acceptance in every 4th and a 退回 from the first review to 受理审查 in
        every 3rd (the other reviews are cancelled; the case runs the process again); every operation is timed."""
        supplement, back = i % 4 == 1, i % 3 == 2
        case_id, _ = self._tx(service.submit_case, self.applicant, local_matter_id=self.local_id,
                              applicant_unit_id=self.applicant_unit, form={"title": "基准测试申请"})
        if supplement:
            self._timed(latencies, service.request_supplement, self.acceptor, case_id=case_id,
                        items=[{"note": "请补充编制测算表"}])
            self._timed(latencies, service.resubmit_case, self.applicant, case_id=case_id,
                        form={"title": "基准测试申请（补正后）"})
        pending = [(t, "accept") for t in self._timed(latencies, service.accept_case, self.acceptor, case_id=case_id)]
        while pending:
            task_id, node = pending.pop(0)
            if back and node == REVIEWS[0]:
                back = False
                opened = self._timed(latencies, service.return_task, self.holder[node], task_id=task_id,
                                     target="accept", reason="请重新审查")
                pending = [(t, "accept") for t in opened]  # the return cancelled the other reviews
                continue
            opened = self._timed(latencies, service.complete_task, self.holder[node], task_id=task_id,
                                 approved=True, opinion="同意")
            pending += zip(opened, _next_nodes(node, len(opened), False), strict=True)
        return case_id

    def finished(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(Case).where(
                Case.region_id == self.region_id, Case.process_state == "finished")).scalar_one())


def _next_nodes(node: str, opened: int, deny_reviews: bool) -> list[str]:
    """The nodes of the tasks completing ``node`` opened, in the order the engine returns them."""
    if node == "accept":
        return list(REVIEWS)
    if node in REVIEWS and opened:
        return ["accept" if deny_reviews else "approve"]
    return []


def run_xietong(engine: Engine, n: int, connections: int = 1) -> dict[str, Any]:
    bench = Bench(engine)
    for _ in range(WARM_UP):  # compile every statement once, as a running server has
        bench.instance([])
    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(count: int) -> None:
        mine: list[float] = []
        try:
            for _ in range(count):
                bench.instance(mine)
        except BaseException as exc:  # report in the main thread
            errors.append(exc)
        with lock:
            latencies.extend(mine)

    per_thread = n // connections
    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(per_thread,)) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    if errors:
        raise errors[0]
    done = per_thread * connections
    if bench.finished() != done + WARM_UP:
        raise RuntimeError(f"only {bench.finished() - WARM_UP} of {done} instances finished")
    return {"instances_per_s": done / wall, **_percentiles(latencies)}


def run_mixed(engine: Engine, n: int) -> dict[str, Any]:
    """Instances with returns and supplements mixed in, one connection; latencies over every operation."""
    bench = Bench(engine)
    for i in range(WARM_UP):
        bench.mixed_instance([], i)
    latencies: list[float] = []
    started = time.perf_counter()
    for i in range(n):
        bench.mixed_instance(latencies, i)
    wall = time.perf_counter() - started
    if bench.finished() != n + WARM_UP:
        raise RuntimeError(f"only {bench.finished() - WARM_UP} of {n} mixed instances finished")
    return {"instances_per_s": n / wall, **_percentiles(latencies)}


def run_history(engine: Engine, targets: list[int]) -> dict[int, float]:
    """One looping case (reviews deny, back to accept): median ms per task over a window at each history length."""
    bench = Bench(engine)
    latencies: list[float] = []
    bench.instance(latencies, deny_reviews=True, history_goal=max(targets) + HISTORY_WINDOW)
    return {
        t: statistics.median(latencies[t:t + HISTORY_WINDOW]) * 1000
        for t in targets if len(latencies) >= t + HISTORY_WINDOW
    }


def count_statements(engine: Engine) -> tuple[dict[str, int], int]:
    """Statements each operation of one approving instance sends (executemany counts once), and round trips.

    On PostgreSQL every statement is a round trip, and so are each transaction's BEGIN (psycopg
    sends it before the first statement), its COMMIT and the pool's pre-ping on checkout when it is on (xietong
    pings only a connection idle for 10 s, which a running benchmark never has). On
    SQLite nothing leaves the process; its BEGIN IMMEDIATE is a statement of its own.
    """
    bench = Bench(engine)
    bench.instance([])  # compile first: the count is the steady state's
    counts: dict[str, int] = {}
    current = [""]
    extra = [0]
    postgres = engine.dialect.name == "postgresql"

    def count(*_args: Any) -> None:
        counts[current[0]] = counts.get(current[0], 0) + 1

    def transaction(*_args: Any) -> None:
        extra[0] += 2 if postgres else 0  # BEGIN and COMMIT

    def checkout(*_args: Any) -> None:
        extra[0] += 1 if postgres and engine.pool._pre_ping else 0

    listeners = [(engine, "before_cursor_execute", count), (engine, "begin", transaction),
                 (engine.pool, "checkout", checkout)]
    for target, name, fn in listeners:
        event.listen(target, name, fn)
    original = bench._tx

    def counted(fn: Callable[..., Any], person_id: int, **kw: Any) -> Any:
        current[0] = fn.__name__ + (f":{_node_of(bench, person_id)}" if fn is service.complete_task else "")
        return original(fn, person_id, **kw)

    bench._tx = counted  # type: ignore[method-assign]
    try:
        bench.instance([])
    finally:
        for target, name, fn in listeners:
            event.remove(target, name, fn)
    return counts, sum(counts.values()) + extra[0] if postgres else 0


def _node_of(bench: Bench, person_id: int) -> str:
    nodes = [node for node, person in bench.holder.items() if person == person_id]
    return "/".join(n.removeprefix("review_") for n in nodes)


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
        url = scratch_postgres(PG_URL, PG_BENCH_DB, create=True)
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


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def print_settings(kind: str, engine: Engine, url: str, settings: Settings, args: argparse.Namespace) -> None:
    parsed = make_url(url)
    print(f"settings: url kind={parsed.get_backend_name()} driver={parsed.get_driver_name()} "
          f"pool_size={settings.pool_size} instances={args.n} repeat={args.repeat} warm-up={WARM_UP} "
          f"history={args.history} (median of {HISTORY_WINDOW} tasks) spiff budget={args.spiff_seconds}s")
    if kind == "sqlite":
        print(f"          sqlite {sqlite3.sqlite_version} pragmas={sqlite_pragmas(engine)} "
              "(BEGIN IMMEDIATE for writers)")
    else:
        with engine.connect() as conn:
            server = conn.exec_driver_sql("SHOW server_version").scalar()
            knobs = {k: conn.exec_driver_sql(f"SHOW {k}").scalar()
                     for k in ("synchronous_commit", "fsync", "shared_buffers")}
        print(f"          PostgreSQL {server} {knobs} pool_pre_ping={engine.pool._pre_ping} "
              f"(else a ping only after {PING_AFTER_IDLE_SECONDS:.0f} s idle)")
    print(f"          Python {platform.python_version()} SQLAlchemy {_version('sqlalchemy')} "
          f"psycopg {_version('psycopg')} SpiffWorkflow {_version('spiffworkflow')} "
          f"cpus={os.cpu_count()} load average {_load()}")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


@contextmanager
def section(label: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    print(f"          ({label} took {time.perf_counter() - started:.0f} s, load average {_load()})")


def _median_run(label: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    """Print the median run (by throughput) with every run's figure beside it; return it."""
    rates = [r.get("instances_per_s") or 0.0 for r in results]
    median = sorted(results, key=lambda r: r.get("instances_per_s") or 0.0)[len(results) // 2]
    spread = f"  runs {', '.join(f'{x:.1f}' for x in rates)}" if len(results) > 1 else ""
    print(f"{label}: {median.get('instances_per_s') or 0:8.1f} instances/s   per task p50 "
          f"{median.get('p50_ms') or 0:.2f} ms  p99 {median.get('p99_ms') or 0:.2f} ms{spread}")
    return median


def bench_database(kind: str, args: argparse.Namespace, history: list[int]) -> None:
    """Rounds of xietong, the raw ceiling and SpiffWorkflow back to back (ratios per round: load drifts)."""
    from bench.baselines.raw import run_raw
    from bench.baselines.spiff import run_spiff

    n, with_spiff = args.n, not args.no_spiff
    print(f"\n=== {kind} ===")
    engine, url, settings = fresh_database(kind, pool_size=5)
    raw_url, spiff_url = baseline_url(kind, "raw"), baseline_url(kind, "spiff")
    print_settings(kind, engine, url, settings, args)
    ones: list[dict[str, Any]] = []
    raws: list[dict[str, Any]] = []
    spiffs: list[dict[str, Any]] = []
    with section(f"{args.repeat} round(s) of xietong, raw ceiling" + (", SpiffWorkflow" if with_spiff else "")):
        for i in range(args.repeat):
            ones.append(run_xietong(engine, n, 1))
            raws.append(run_raw(raw_url, n))
            spiffs.append(run_spiff(spiff_url, min(n, 200)) if with_spiff else {})
            spiff_rate = spiffs[-1].get("instances_per_s") or 0.0
            print(f"round {i + 1}: xietong {ones[-1]['instances_per_s']:.1f}, raw {raws[-1]['instances_per_s']:.1f}, "
                  f"SpiffWorkflow {spiff_rate:.1f} instances/s (load average {_load()})")
    one = _median_run("xietong, 1 connection ", ones)
    _median_run("raw ceiling, 1 conn   ", raws)
    if with_spiff:
        _median_run("SpiffWorkflow, 1 conn ", spiffs)
    with section("xietong with 4 connections, history, statement count"):
        four = _median_run("xietong, 4 connections", [run_xietong(engine, n, 4) for _ in range(args.repeat)])
        mixed = _median_run("xietong, mixed 1 conn ", [run_mixed(engine, n) for _ in range(args.repeat)])
        print(f"          (mixed: a 退回 to 受理审查 in every 3rd instance, a 补正 before acceptance in every 4th; "
              f"p50/p99 over every operation) ratio mixed ÷ plain: "
              f"{mixed['instances_per_s'] / one['instances_per_s']:.2f}")
        hist = run_history(engine, history)
        print("xietong, one looping case, ms per task at history " +
              ", ".join(f"{k}: {v:.2f}" for k, v in hist.items()))
        counts, round_trips = count_statements(engine)
        trips = f", {round_trips} round trips with BEGIN and COMMIT" if round_trips else ""
        print(f"xietong, statements per operation: {counts} (total {sum(counts.values())} per instance{trips})")
    engine.dispose()
    with section("baselines' history"):
        raw_hist = run_raw(raw_url, 10, history_tasks=history)
        print(f"raw ceiling, ms per task at history {raw_hist.get('history_ms')}  error={raw_hist.get('error')}")
        if with_spiff:
            spiff_hist = run_spiff(spiff_url, 5, history_tasks=history, max_seconds=args.spiff_seconds)
            print(f"SpiffWorkflow, ms per task at history {spiff_hist.get('history_ms')}  reached "
                  f"{spiff_hist.get('history_reached')} completed tasks  error={spiff_hist.get('error')}")
    ratios_raw = [o["instances_per_s"] / r["instances_per_s"] for o, r in zip(ones, raws, strict=True)]
    ratios_spiff = [o["instances_per_s"] / s["instances_per_s"] for o, s in zip(ones, spiffs, strict=True)
                    if s.get("instances_per_s")]
    _verdicts(kind, one, four, mixed, statistics.median(ratios_raw),
              statistics.median(ratios_spiff) if ratios_spiff else None, hist, history)
    if kind == "postgresql":
        _drop_database()


def _drop_database() -> None:
    scratch_postgres(PG_URL, PG_BENCH_DB, create=False)


def _verdicts(kind: str, one: dict[str, Any], four: dict[str, Any], mixed: dict[str, Any], ratio_raw: float,
              ratio_spiff: float | None, hist: dict[int, float], history: list[int]) -> None:
    print(f"ratio xietong ÷ raw ceiling          : {ratio_raw:.3f} (median of the rounds' ratios)")
    print(f"ratio xietong 4 ÷ 1 connection(s)    : {four['instances_per_s'] / one['instances_per_s']:.2f}")
    if ratio_spiff is not None:
        print(f"ratio xietong ÷ SpiffWorkflow        : {ratio_spiff:.2f} (median of the rounds' ratios)")
    low, high = min(history), max(history)
    flat = hist[high] / hist[low] if low in hist and high in hist else float("inf")
    print(f"ratio latency at {high} ÷ at {low} tasks   : {flat:.2f}")
    if kind == "sqlite":
        print(f"{verdict(one['instances_per_s'] >= 500)} ≥ 500 instances/s on SQLite")
        print(f"{verdict(ratio_raw >= 0.25)} ≥ 25 % of the raw ceiling")
        if ratio_spiff is not None:
            print(f"{verdict(ratio_spiff >= 4)} ≈ 4× SpiffWorkflow (informational)")
    elif ratio_spiff is not None:
        print(f"{verdict(ratio_spiff >= 1.5)} ≥ 1.5× SpiffWorkflow on PostgreSQL with one connection "
              f"(4 connections: {four['instances_per_s']:.1f} instances/s)")
    else:
        print("MISSED ≥ 1.5× SpiffWorkflow on PostgreSQL with one connection (no SpiffWorkflow figure)")
    print(f"{verdict(flat <= 1.3)} latency at {high} tasks of history within 1.3× of that at {low}")
    if kind == "sqlite":
        print(f"{verdict(mixed['instances_per_s'] >= 500)} ≥ 500 instances/s on SQLite with returns and supplements")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("-n", type=int, default=400, help="instances per run")
    parser.add_argument("--history", default="10,100,1000", help="history lengths (completed tasks of one case)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds of xietong and the baselines back to back; medians are reported")
    parser.add_argument("--no-spiff", action="store_true")
    parser.add_argument("--spiff-seconds", type=float, default=120,
                        help="SpiffWorkflow's history time budget (its progress is cached: later runs get further)")
    args = parser.parse_args()
    history = [int(h) for h in args.history.split(",")]
    for kind in (["sqlite", "postgresql"] if args.db == "both" else [args.db]):
        bench_database(kind, args, history)


if __name__ == "__main__":
    main()
