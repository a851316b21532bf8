"""Shared plumbing for the engine-benchmark baselines (owned by bench/baselines).

Database URL parsing and connection setup for the two supported backends
(stdlib ``sqlite3`` and ``psycopg`` v3), a tiny placeholder-translating
cursor wrapper so the baselines can write SQL once with ``?`` placeholders,
percentile helpers and the history-window bookkeeping both baselines share.
"""

from __future__ import annotations

import math
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

SQLITE = "sqlite"
POSTGRES = "postgresql"


@dataclass(frozen=True)
class DbTarget:
    """A parsed database URL."""

    backend: str  # SQLITE or POSTGRES
    dsn: str  # sqlite: file path; postgresql: libpq URL accepted by psycopg


def parse_db_url(db_url: str) -> DbTarget:
    """Parse ``sqlite:///path`` or ``postgresql[+psycopg]://...``.

    ``sqlite:///rel/path`` is relative, ``sqlite:////abs/path`` absolute (the
    SQLAlchemy convention). ``sqlite://`` or ``sqlite:///`` without a path uses
    a fresh file in the temp directory (WAL needs a real file).
    """
    if db_url.startswith("sqlite:"):
        path = db_url[len("sqlite:") :]
        if path.startswith("///"):
            path = path[3:]
        elif path.startswith("//"):
            path = path[2:]
        if not path or path == ":memory:":
            fd, path = tempfile.mkstemp(prefix="xietong_bench_", suffix=".db")
            os.close(fd)
        return DbTarget(SQLITE, path)
    for prefix in ("postgresql", "postgres"):
        if db_url.startswith(prefix + "+") or db_url.startswith(prefix + ":"):
            rest = db_url[len(prefix) :]
            if rest.startswith("+"):
                rest = rest[rest.index(":") :]
            return DbTarget(POSTGRES, "postgresql" + rest)
    raise ValueError(f"unsupported database URL: {db_url!r}")


class Db:
    """One connection with explicit transactions and ``?`` placeholders.

    ``begin()`` starts a write transaction (``BEGIN IMMEDIATE`` on SQLite so a
    read-then-write request never has to upgrade its lock); ``commit()`` ends
    it. On PostgreSQL, psycopg opens the transaction implicitly at the first
    statement and ``commit()`` ends it.
    """

    def __init__(self, target: DbTarget) -> None:
        self.target = target
        self.backend = target.backend
        if target.backend == SQLITE:
            conn = sqlite3.connect(target.dsn, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._sqlite: sqlite3.Connection | None = conn
            self._pg: Any = None
        else:
            import psycopg

            self._sqlite = None
            self._pg = psycopg.connect(target.dsn, autocommit=False)

    # -- SQL -----------------------------------------------------------------
    def _sql(self, sql: str) -> str:
        return sql if self.backend == SQLITE else sql.replace("?", "%s")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Execute one statement and return the cursor."""
        if self._sqlite is not None:
            return self._sqlite.execute(sql, params)
        return self._pg.execute(self._sql(sql), params)

    def script(self, statements: Iterable[str]) -> None:
        """Run DDL statements in one committed transaction."""
        self.begin()
        for stmt in statements:
            self.execute(stmt)
        self.commit()

    def begin(self) -> None:
        if self._sqlite is not None:
            self._sqlite.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        if self._sqlite is not None:
            self._sqlite.execute("COMMIT")
        else:
            self._pg.commit()

    def rollback(self) -> None:
        if self._sqlite is not None:
            if self._sqlite.in_transaction:
                self._sqlite.execute("ROLLBACK")
        else:
            self._pg.rollback()

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
        else:
            self._pg.close()


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def ms(seconds: float) -> float | None:
    """Seconds to milliseconds, rounded for printing; ``None`` for NaN."""
    if math.isnan(seconds):
        return None
    return round(seconds * 1000.0, 3)


@dataclass
class HistoryRecorder:
    """Collects completion latencies of one long (looping) instance.

    A completion is "at history length L" when L user tasks of the instance
    were already completed before it. For each target length the first
    ``window`` completions at lengths L, L+1, ... are averaged.
    """

    targets: list[int]
    window: int = 5
    samples: dict[int, list[float]] = field(default_factory=dict)
    extra: dict[int, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.targets = sorted(set(self.targets))
        self.samples = {t: [] for t in self.targets}

    @property
    def goal(self) -> int:
        """Completed-task count after which nothing more is needed."""
        return (self.targets[-1] + self.window) if self.targets else 0

    def wanted(self, history: int) -> list[int]:
        """Targets whose window contains a completion at ``history``."""
        return [t for t in self.targets if t <= history < t + self.window and len(self.samples[t]) < self.window]

    def next_target(self, history: int) -> int | None:
        """Smallest history length >= ``history`` at which a sample is still wanted."""
        for t in self.targets:
            if len(self.samples[t]) < self.window and history < t + self.window:
                return max(t, history)
        return None

    def add(self, history: int, seconds: float, **extra: Any) -> None:
        for t in self.wanted(history):
            self.samples[t].append(seconds)
            if extra:
                self.extra.setdefault(t, {}).update(extra)

    def result(self) -> dict[str, Any]:
        history_ms = {t: ms(sum(v) / len(v)) for t, v in self.samples.items() if v}
        detail = [
            {
                "history": t,
                "avg_ms": ms(sum(v) / len(v)) if v else None,
                "median_ms": ms(percentile(v, 50)) if v else None,
                "samples": len(v),
                **self.extra.get(t, {}),
            }
            for t, v in self.samples.items()
        ]
        return {"history_ms": history_ms, "history_detail": detail}


class Budget:
    """A wall-clock budget (``max_seconds``) starting now."""

    def __init__(self, max_seconds: float) -> None:
        self.deadline = time.perf_counter() + max_seconds

    def exceeded(self) -> bool:
        return time.perf_counter() > self.deadline
