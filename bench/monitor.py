# ruff: noqa: E402  (the imports below need sys.path set first)
"""Monitoring benchmark: every dashboard query, export and bulletin over a large demo city.

Builds the demo city (``xietong.demo.load_demo``: real engine runs written by batched inserts, COPY on
PostgreSQL) with ``--cases`` cases, with tasks and events, into a database kept between runs (``--reuse``
times it again without rebuilding), then adds oversight rows the demo has none of — ratings on 60 % of
concluded cases, urges on 5 % of accepted ones, 督办 orders on 1 % — with one ``INSERT … SELECT`` each
(filler for the figures' joins, not the services' way of writing them), summarises the closed days
(``monitor.summary.refresh``, as the daily ``xietong monitor refresh`` would) and ANALYZEs.

Then, as the city's reform office (everything) and as one county's supervisor, it times each dashboard
query over rounds and prints p50/p95, the full dashboard set per round, the .xlsx exports and a quarter's
bulletin as .xlsx and PDF. Targets: each query p95 < 300 ms, the dashboard set < 1 s, the bulletin < 10 s.

    python bench/monitor.py --db sqlite --cases 100000
    python bench/monitor.py --db postgresql --cases 1000000
    python bench/monitor.py --db sqlite --reuse         # time again, no rebuild
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

# Run as a script, this file's folder comes first on sys.path, and bench/http.py would hide the standard ``http``.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xietong.cases.models import Case
from xietong.config import Settings, normalise_database_url
from xietong.db import migrate
from xietong.db.engine import create_db_engine
from xietong.db.models import Base
from xietong.db.session import read_only, unit_of_work
from xietong.demo.load import load_demo
from xietong.demo.shares import HISTORY_TABLES
from xietong.directory.models import Region
from xietong.monitor import bulletin as bulletins
from xietong.monitor import summary as summaries
from xietong.monitor.choices import choices
from xietong.monitor.drilldown import drilldown, worst_overdue
from xietong.monitor.exports import export_table
from xietong.monitor.figures import figures, overview, ranking
from xietong.monitor.filters import Filters, Period, parse_period
from xietong.monitor.steps import bottlenecks, cards_now
from xietong.monitor.trend import trend
from xietong.monitor.upkeep import keep_summaries
from xietong.security.principal import Grant, Principal

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
PG_BENCH_DB = "xietong_bench_monitor"
TARGET_QUERY_MS, TARGET_SET_MS, TARGET_BULLETIN_S = 300.0, 1000.0, 10.0
REFORM = Principal(kind="person", id=None, name="改革办", grants=(Grant("reform_office", "all"),))
console = Console()

FILLER = {
    "rating": """INSERT INTO rating (case_id, by_id, level, comment, at)
        SELECT id, applicant_person_id,
          CASE (id / 10) % 10 WHEN 0 THEN 'satisfied' WHEN 1 THEN 'satisfied' WHEN 2 THEN 'basically_satisfied'
          WHEN 3 THEN 'dissatisfied' ELSE 'very_satisfied' END, '', concluded_at
        FROM "case" WHERE concluded_at IS NOT NULL AND id % 10 < 6""",
    "urge": """INSERT INTO urge (case_id, by_id, at, note)
        SELECT id, applicant_person_id, accepted_at, '' FROM "case" WHERE accepted_at IS NOT NULL AND id % 20 = 0""",
    "oversight_order": """INSERT INTO oversight_order (kind, case_id, unit_id, content, deadline_at, state, overdue,
          sent_back, created_at)
        SELECT 'supervision', id, handling_unit_id, '请加快办理', due_at,
          CASE WHEN concluded_at IS NULL THEN 'open' ELSE 'closed' END, false, 0, accepted_at
        FROM "case" WHERE due_at IS NOT NULL AND id % 100 = 0""",
}


def database(kind: str, pg_url: str, data_dir: Path, reuse: bool, pg_db: str = PG_BENCH_DB) -> Settings:
    if kind == "sqlite":
        return Settings(data_dir=data_dir, demo=True)
    url = make_url(normalise_database_url(pg_url))
    if not reuse:
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_db}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{pg_db}"'))
        admin.dispose()
    return Settings(database_url=url.set(database=pg_db).render_as_string(hide_password=False), demo=True)


MONITOR_TABLES = ("monitor_step_day", "monitor_days_used_day", "monitor_case_day", "monitor_summary")


def forget_monitor_migration(engine: Engine) -> None:
    """A database kept from a run made before migration 0011 grew its tables: the indexes it made are the
    same, so only the summary tables are (re)made from the models and the revision stamped."""
    tables = [Base.metadata.tables[name] for name in MONITOR_TABLES]
    with engine.begin() as conn:
        for table in MONITOR_TABLES:
            conn.execute(text(f'DROP TABLE IF EXISTS "{table}"'))
        Base.metadata.create_all(conn, tables=tables)
        conn.execute(text("UPDATE alembic_version SET version_num = '0011'"))


def drop_secondary_indexes(engine: Engine) -> list[str]:
    """PostgreSQL: drop the history tables' indexes that back no constraint, returning how to make them again.

    COPY into tables with a dozen indexes each spends most of the server's time keeping them; one CREATE INDEX per
    index after the load sorts once instead. The primary keys and unique constraints stay (they check the load)."""
    if engine.dialect.name != "postgresql":
        return []
    query = text("""SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = current_schema() AND i.tablename = ANY(:tables)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""")
    with engine.begin() as conn:
        found = conn.execute(query, {"tables": list(HISTORY_TABLES)}).all()
        for name, _ in found:
            conn.execute(text(f'DROP INDEX "{name}"'))
    return [definition for _, definition in found]


def recreate_indexes(engine: Engine, definitions: list[str]) -> None:
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        for definition in definitions:
            conn.execute(text(definition))


def build(engine: Engine, settings: Settings, cases: int, today: date | None, remigrate: bool = False) -> None:
    """The demo city with ``cases`` cases (nothing when already built), the oversight filler, statistics."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    started = time.perf_counter()
    # No refresh thread: the demo loader plays the history in two forked workers only in a process without
    # threads, and rich's auto-refresh is one — with it the 1,000,000 cases were played by one process.
    with Progress(*columns, console=console, auto_refresh=False) as progress:
        steps: dict[str, TaskID] = {}
        shown = [0.0]

        def report(stage: str, done: int, total: int) -> None:
            if stage not in steps:
                steps[stage] = progress.add_task(stage, total=total)
            progress.update(steps[stage], completed=done, total=total)
            if time.perf_counter() - shown[0] > 0.5 or done == total:
                shown[0] = time.perf_counter()
                progress.refresh()

        if remigrate:
            forget_monitor_migration(engine)
        migrate.upgrade(engine)
        empty = engine.dialect.name == "postgresql" and not _holds_cases(engine)
        definitions = drop_secondary_indexes(engine) if empty else []
        summary = load_demo(engine, settings, report, cases=cases, today=today)
        if definitions:
            loaded = time.perf_counter()
            index_task = progress.add_task(f"索引（{len(definitions)} 个，装载后再建）", total=1)
            recreate_indexes(engine, definitions)
            progress.advance(index_task)
            console.print(f"loaded in {loaded - started:,.0f} s; {len(definitions)} indexes made again in "
                          f"{time.perf_counter() - loaded:,.0f} s")
        if summary.built:
            filler = progress.add_task("监督数据（评价、催办、督办）", total=len(FILLER))
            with unit_of_work(engine) as session:
                for sql in FILLER.values():
                    session.execute(text(sql))
                    progress.advance(filler)
    built = "built" if summary.built else "found"
    console.print(f"{built} {summary.counts['cases']:,} cases, {summary.counts['tasks']:,} tasks, "
                  f"{summary.counts['events']:,} events in {time.perf_counter() - started:,.0f} s")
    started = time.perf_counter()
    with unit_of_work(engine) as session:
        done = summaries.refresh(session)
    console.print(f"day summaries {done.first} … {done.through}: {done.case_rows:,} case rows, "
                  f"{done.step_rows:,} step rows in {time.perf_counter() - started:,.1f} s")
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        vacuum = engine.dialect.name == "postgresql" and summary.built  # after a bulk load: the visibility map
        conn.execute(text("VACUUM ANALYZE" if vacuum else "ANALYZE"))
    console.print(f"ANALYZE {time.perf_counter() - started:,.1f} s")


def _holds_cases(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(Case.id).limit(1)).first() is not None


def timed(rounds: int, call: Callable[[], Any]) -> list[float]:
    call()  # warm: caches, the calendar, the plans
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def dashboard(engine: Engine, principal: Principal, filters: Filters) -> dict[str, Callable[[], Any]]:
    """The queries a dashboard page makes, each in its own read transaction as a request would."""

    def read(call: Callable[[Session], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with read_only(engine) as session:
                return call(session)
        return run

    p, f = principal, filters
    return {
        "overview (the page's figures + rankings)": read(lambda s: overview(s, principal=p, filters=f)),
        "figures": read(lambda s: figures(s, principal=p, filters=f)),
        "ranking (units)": read(lambda s: ranking(s, principal=p, filters=f, by="unit")),
        "ranking (regions)": read(lambda s: ranking(s, principal=p, filters=f, by="region")),
        "cards now": read(lambda s: cards_now(s, principal=p, filters=f)),
        "bottlenecks": read(lambda s: bottlenecks(s, principal=p, filters=f)),
        "drill-down overdue_now": read(lambda s: drilldown(s, principal=p, filters=f, figure="overdue_now")),
        "drill-down on_time": read(lambda s: drilldown(s, principal=p, filters=f, figure="on_time")),
        "worst late cases": read(lambda s: worst_overdue(s, principal=p, filters=f, figure="late")),
        "trend": read(lambda s: trend(s, principal=p, filters=f)),
        "live red/yellow cases": read(lambda s: [drilldown(s, principal=p, filters=f, figure=k, limit=10)
                                                 for k in ("red_now", "yellow_now")]),
        "filter choices": read(lambda s: choices(s, region_id=f.region_id, unit_id=f.unit_id)),
    }


#: what the dashboard page reads (``web.pages.monitor_view.dashboard`` and the filter lists): the set's sum
PAGE_SET = frozenset({"overview (the page's figures + rankings)", "cards now", "bottlenecks", "live red/yellow cases",
                      "trend", "filter choices"})


def time_dashboard(engine: Engine, who: str, principal: Principal, filters: Filters, rounds: int) -> bool:
    queries = dashboard(engine, principal, filters)
    table = Table("query", "p50 ms", "p95 ms", "max ms", "", title=f"{who}, {filters.period.label}")
    met = True
    sets = [0.0] * rounds
    for name, call in queries.items():
        samples = timed(rounds, call)
        if name in PAGE_SET:
            sets = [a + b for a, b in zip(sets, samples, strict=True)]
        ok = p95(samples) < TARGET_QUERY_MS
        met &= ok
        table.add_row(name, f"{statistics.median(samples):.1f}", f"{p95(samples):.1f}", f"{max(samples):.1f}",
                      "MET" if ok else "MISSED")
    ok = p95(sets) < TARGET_SET_MS
    table.add_row("[bold]the page's set[/bold]", f"{statistics.median(sets):.1f}", f"{p95(sets):.1f}",
                  f"{max(sets):.1f}", "MET" if ok else "MISSED")
    console.print(table)
    return met and ok


def time_exports(engine: Engine, filters: Filters) -> bool:
    table = Table("export", "seconds", "size KB", "", title=f"exports and bulletin, {filters.period.label}")
    met = True
    jobs: dict[str, Callable[[Session], bytes]] = {
        f"{name}.xlsx": (lambda s, name=name: export_table(s, principal=REFORM, filters=filters, table=name)[1])
        for name in ("figures", "units", "regions", "bottlenecks", "cards")
    }
    jobs["cases.xlsx (overdue_now)"] = lambda s: export_table(
        s, principal=REFORM, filters=filters, table="cases", figure="overdue_now")[1]
    for name, job in jobs.items():
        with read_only(engine) as session:
            started = time.perf_counter()
            data = job(session)
            table.add_row(name, f"{time.perf_counter() - started:.2f}", f"{len(data) / 1024:.0f}", "")
    for kind in ("xlsx", "pdf"):
        with read_only(engine) as session:
            started = time.perf_counter()
            made = bulletins.gather(session, principal=REFORM, filters=filters, scope_name="全市")
            data = bulletins.bulletin_xlsx(made) if kind == "xlsx" else bulletins.bulletin_pdf(made)
            seconds = time.perf_counter() - started
        ok = seconds < TARGET_BULLETIN_S
        met &= ok
        verdict = "MET" if ok else "MISSED"
        table.add_row(f"quarter bulletin .{kind}", f"{seconds:.2f}", f"{len(data) / 1024:.0f}", verdict)
    console.print(table)
    return met


def time_page(settings: Settings, periods: list[str], rounds: int) -> bool:
    """The whole dashboard page over HTTP (the ASGI app in process), logged in as the demo's reform office:
    every query above, the filter lists and the template — and its self-refresh (the panel fragment)."""
    from fastapi.testclient import TestClient

    from xietong.demo.seed import DEMO_PASSWORD
    from xietong.web.app import create_app

    app = create_app(settings)
    table = Table("page", "p50 ms", "p95 ms", "max ms", "", title="the dashboard page (HTTP)")
    met = True
    with TestClient(app) as client:
        login = client.post("/login", data={"username": "reform", "password": DEMO_PASSWORD}, follow_redirects=False)
        assert login.status_code == 303, login.text
        for period in periods:
            for name, url, headers in (
                (f"/monitor?period={period}", f"/monitor?period={period}", {}),
                (f"panel refresh {period}", f"/monitor/panel?period={period}", {"HX-Request": "true"}),
            ):
                def get(url: str = url, headers: dict[str, str] = headers) -> None:
                    response = client.get(url, headers=headers)
                    assert response.status_code == 200, response.text[:300]
                samples = timed(rounds, get)
                ok = p95(samples) < TARGET_SET_MS
                met &= ok
                table.add_row(name, f"{statistics.median(samples):.1f}", f"{p95(samples):.1f}",
                              f"{max(samples):.1f}", "MET" if ok else "MISSED")
    app.state.engine.dispose()
    console.print(table)
    return met


def time_upkeep(engine: Engine) -> None:
    """The worker's summary duty: a tick with nothing to do, and one closed day summarised again."""
    table = Table("summary upkeep", "ms", title="the worker's summary duty")
    with unit_of_work(engine) as session:
        keep_summaries(session)  # catch up with the log once
    with unit_of_work(engine) as session:
        started = time.perf_counter()
        keep_summaries(session)
        table.add_row("idle tick (nothing new)", f"{(time.perf_counter() - started) * 1000:.1f}")
    with unit_of_work(engine) as session:
        held = summaries.summarised_through(session)
        if held is not None:
            started = time.perf_counter()
            summaries.refresh(session, since=held, through=held)
            table.add_row(f"one dirty day again ({held})", f"{(time.perf_counter() - started) * 1000:.1f}")
    console.print(table)


def latest_quarter(today: date) -> Period:
    quarter = (today.month - 1) // 3  # the last complete one
    year = today.year if quarter else today.year - 1
    return parse_period(f"{year}Q{quarter or 4}")


def run(
    kind: str, cases: int, pg_url: str, rounds: int, reuse: bool, data_dir: Path, remigrate: bool, pg_db: str
) -> None:
    settings = database(kind, pg_url, data_dir, reuse, pg_db)
    engine = create_db_engine(settings)
    console.rule(f"{kind}: {cases:,} cases requested ({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})")
    build(engine, settings, cases, None, remigrate)
    with read_only(engine) as session:
        total = session.scalar(select(func.count()).select_from(Case)) or 0
        newest = session.scalar(select(func.max(Case.submitted_at)))
        county = session.execute(select(Region.id, Region.name).where(Region.level == "county")
                                 .order_by(Region.code)).first()
    today = newest.astimezone(ZoneInfo(settings.timezone)).date() if newest else date.today()
    quarter = latest_quarter(today)
    console.print(f"{total:,} cases in the database; timing {quarter.label} and {today.year}")
    met = True
    for filters in (Filters(period=quarter), Filters(period=parse_period(str(today.year)))):
        met &= time_dashboard(engine, "reform office (all)", REFORM, filters, rounds)
    if county is not None:
        supervisor = Principal(kind="person", id=None, name="县效能办",
                               grants=(Grant("supervisor", "region", region_id=county.id),))
        met &= time_dashboard(engine, f"supervisor of {county.name}", supervisor, Filters(period=quarter), rounds)
    met &= time_exports(engine, Filters(period=quarter))
    met &= time_page(settings, [quarter.label, str(today.year)], max(5, rounds // 2))
    time_upkeep(engine)
    console.print(f"[bold]{'ALL TARGETS MET' if met else 'SOME TARGETS MISSED'}[/bold] at {total:,} cases ({kind})")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--cases", type=int, default=None, help="default: 100,000 on SQLite, 1,000,000 on PostgreSQL")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="keep the database of an earlier run (no rebuild)")
    parser.add_argument("--remigrate", action="store_true", help="with --reuse: redo monitoring's migration first")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "xietong-bench-monitor",
                        help="SQLite: where the database file lives")
    parser.add_argument("--pg-url", default=os.environ.get("XIETONG_TEST_DATABASE_URL", PG_URL))
    parser.add_argument("--pg-db", default=PG_BENCH_DB, help="PostgreSQL: the database the bench (re)creates")
    args = parser.parse_args()
    cases = args.cases or (100_000 if args.db == "sqlite" else 1_000_000)
    if args.db == "sqlite" and not args.reuse and args.dir.exists():
        for name in ("xietong.db", "xietong.db-wal", "xietong.db-shm"):
            (args.dir / name).unlink(missing_ok=True)
    args.dir.mkdir(parents=True, exist_ok=True)
    run(args.db, cases, args.pg_url, args.rounds, args.reuse, args.dir, args.remigrate, args.pg_db)


if __name__ == "__main__":
    main()
