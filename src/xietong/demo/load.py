"""Build the demo city into a database, once: directory, catalogue and two years of historical cases.

:func:`load_demo` is the bulk generator DESIGN.md allows for demo data: deterministic (a fixed seed
and a reference date, by default today, so the same command on the same day builds the same city),
every case driven through the real pure engine (:mod:`xietong.demo.history`, in two forked workers
for a large build: :mod:`xietong.demo.shares`), and every row written in batches — one
``executemany`` of a compiled Core ``insert()`` per table on SQLite, ``COPY`` on PostgreSQL
(:mod:`xietong.demo.bulk`) — in one transaction. A ``system_setting`` row ``demo.built_at`` marks a
database that holds the demo; asked again, the loader does nothing.

Order of work: the directory (:mod:`xietong.demo.seed`), the catalogue with one published version per
local matter, the sample material files, the plans (:mod:`xietong.demo.timeline`), their case
numbers, the history, the number counters (so later submissions continue after the demo's numbers).

The history ends at the *reference instant*: 08:00 (local time) of the reference date, before any
office opens, so everything that happens "today" is left to the people using the demo. Event log
positions stay unset: the change-log sequencer numbers committed events, the demo's among them.
"""

from __future__ import annotations

import random
import time as timer
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.orm import Session

from xietong.cases.models import Blob
from xietong.config import Settings
from xietong.db.base import utcnow
from xietong.db.session import unit_of_work
from xietong.demo import counts as tallies
from xietong.demo.bulk import BulkWriter
from xietong.demo.catalogue import build_catalogue
from xietong.demo.city import DEMO_LOGINS, build_city
from xietong.demo.context import Context, assigner_for, blob_rows
from xietong.demo.granularity import recut
from xietong.demo.materials import insert_shared_materials
from xietong.demo.seed import DEMO_PASSWORD, PublishedMatter, filter_city, insert_catalogue, insert_city
from xietong.demo.shares import HISTORY_TABLES, Batch, Job, can_fork, play_shares, prewarm
from xietong.demo.timeline import HISTORY_DAYS, OfficeClock, make_plans, people_index
from xietong.directory.models import Person
from xietong.engine.assignment import DirectoryAssigner
from xietong.system.calendar import work_calendar
from xietong.system.models import Counter, SystemSetting

BUILT_KEY = "demo.built_at"
AS_OF_KEY = "demo.as_of"
DEFAULT_CASES = 37_000
FORK_FROM = 2_000  # fewer cases are played in this process
REFERENCE_HOUR = 8

#: progress(stage, done, total)
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DemoSummary:
    """What a build made (or found): counts per table and per status, and the demo log-ins."""

    built: bool  # False: the database already held the demo, nothing was written
    as_of: datetime
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    cards: dict[str, int] = field(default_factory=dict)  # open cases: "red" past due, "yellow" near it
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (username, password, description)


def reference_instant(day: date, tz: str) -> datetime:
    """08:00 local time of ``day``, in UTC: where the demo history stops."""
    return datetime.combine(day, time(REFERENCE_HOUR), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def load_demo(
    engine: Engine,
    settings: Settings,
    progress: Progress | None = None,
    *,
    cases: int = DEFAULT_CASES,
    regions: Collection[str] | None = None,
    today: date | None = None,
    seed: int = 2026,
    fork: bool | None = None,
) -> DemoSummary:
    """Build the demo unless the database already holds it; ``regions`` and ``cases`` make a smaller one.

    ``fork`` plays the history in two worker processes (None: when there are many cases and the platform
    forks); the database ends up the same either way.
    """
    started = timer.perf_counter()
    tz = settings.timezone
    day = today or datetime.now(ZoneInfo(tz)).date()
    as_of = reference_instant(day, tz)
    report = progress or (lambda stage, done, total: None)
    with unit_of_work(engine) as session:
        conn = session.connection()
        settings_rows = dict(
            conn.execute(
                select(SystemSetting.key, SystemSetting.value).where(SystemSetting.key.in_((BUILT_KEY, AS_OF_KEY)))
            ).all()
        )
        if BUILT_KEY in settings_rows:
            found = datetime.fromisoformat(settings_rows.get(AS_OF_KEY) or as_of.isoformat())
            return _summary(conn, False, found, started, tz)
        conn.execute(
            insert(SystemSetting),
            [
                {"key": BUILT_KEY, "value": utcnow().isoformat(timespec="seconds"), "updated_at": utcnow()},
                {"key": AS_OF_KEY, "value": as_of.isoformat(), "updated_at": utcnow()},
            ],
        )
        _build(session, tz, as_of, cases, regions, seed, report, fork)
        return _summary(conn, True, as_of, started, tz)


def _build(
    session: Session,
    tz: str,
    as_of: datetime,
    cases: int,
    regions: Collection[str] | None,
    seed: int,
    report: Progress,
    fork: bool | None,
) -> None:
    conn = session.connection()
    writer = BulkWriter(conn)
    report("城市、人员与事项目录", 0, 1)
    city = build_city(seed)
    catalogue = build_catalogue(city, seed)
    founded = as_of - timedelta(days=HISTORY_DAYS + 30)
    ids = insert_city(writer, filter_city(city, regions), at=founded)
    published = insert_catalogue(writer, catalogue, ids, at=founded)
    known = set(conn.execute(select(Blob.sha256)).scalars())
    writer.insert_now("blob", [b for b in blob_rows(founded) if b["sha256"] not in known])
    shared = insert_shared_materials(writer, ids, at=founded, today=as_of.astimezone(ZoneInfo(tz)).date())
    report("城市、人员与事项目录", 1, 1)
    calendar = work_calendar(conn, tz)
    clock = OfficeClock(calendar, as_of)
    ctx = Context.build(
        as_of=as_of,
        calendar=calendar,
        clock=clock,
        ids=ids,
        assigner=assigner_for(conn, DirectoryAssigner(session)),
        next_id=writer.next_id,
    )
    ctx.shared = shared
    rng = random.Random(f"xietong-demo-history-{seed}")
    _history(conn, writer, ctx, published, cases, rng, report, fork)
    writer.fix_sequences()
    recut(session)  # a few split and merged matters, through the real operations (demo/granularity.py)


def _history(
    conn: Connection,
    writer: BulkWriter,
    ctx: Context,
    published: list[PublishedMatter],
    cases: int,
    rng: random.Random,
    report: Progress,
    fork: bool | None,
) -> None:
    """Plan the cases and number them, play them (in two forked workers when possible), then save the counters."""
    departments: dict[str, list[str]] = {}
    for unit in ctx.ids.city.departments():
        departments.setdefault(unit.region_code, []).append(unit.key)
    plans = make_plans(published, people_index(ctx.ids.city.people, departments), ctx.clock, cases, rng)
    counters = _counters(conn)
    numbers = []
    for plan in plans:
        key = f"case:{plan.matter.region_code}:{ctx.calendar.local_date(plan.submitted_at):%Y%m%d}"
        counters[key] = counters.get(key, 0) + 1
        numbers.append(f"XT{plan.matter.region_code}{key[-8:]}{counters[key]:06d}")
    if fork is None:
        fork = cases >= FORK_FROM
    fork = fork and can_fork(ctx)
    if fork:
        prewarm(ctx, plans)
    statements = {t: writer.statement(t) for t in HISTORY_TABLES}
    bases = {t: writer.first_free(t) for t in HISTORY_TABLES if "id" in writer.tables[t].c}
    job = Job(ctx, plans, numbers, statements, bases)

    def write(batch: Batch) -> None:
        for table, values in batch:
            writer.write_values(table, values)

    play_shares(job, write, lambda done: report("历史办件", done, len(plans)), fork=fork)
    _save_counters(conn, counters)


def _counters(conn: Connection) -> dict[str, int]:
    """Existing case-number counters, so demo numbers continue after any already given."""
    rows = conn.execute(select(Counter.key, Counter.value).where(Counter.key.like("case:%"))).all()
    return {key: value for key, value in rows}


def _save_counters(conn: Connection, counters: dict[str, int]) -> None:
    existing = set(conn.execute(select(Counter.key).where(Counter.key.like("case:%"))).scalars())
    new = [{"key": k, "value": v} for k, v in counters.items() if k not in existing]
    if new:
        conn.execute(insert(Counter), new)
    for key in existing & counters.keys():
        conn.execute(update(Counter).where(Counter.key == key).values(value=counters[key]))


def _summary(conn: Connection, built: bool, as_of: datetime, started: float, tz: str) -> DemoSummary:
    present = set(conn.execute(select(Person.username).where(Person.username.in_(DEMO_LOGINS))).scalars())
    logins = [(u, DEMO_PASSWORD, DEMO_LOGINS[u][2]) for u in DEMO_LOGINS if u in present]
    return DemoSummary(
        built=built,
        as_of=as_of,
        seconds=timer.perf_counter() - started,
        counts=tallies.table_counts(conn),
        statuses=tallies.status_counts(conn),
        cards=tallies.card_counts(conn, as_of, tz),
        logins=logins,
    )
