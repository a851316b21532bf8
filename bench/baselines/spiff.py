"""SpiffWorkflow baseline for the engine benchmark (owned by bench/baselines).

Runs the reference joint-approval process (``reference_process.bpmn``,
process id ``joint_approval``) on SpiffWorkflow 3.x the way a web application
embedding it would: the whole workflow is serialized with SpiffWorkflow's own
``BpmnWorkflowSerializer`` (JSON) into one row of ``bench_spiff_workflow``;
every request is one transaction that SELECTs the row, deserializes, completes
one user task, runs the engine steps, serializes and UPDATEs the row.

Per instance: 1 creating transaction + 5 completing transactions
(accept, review_a, review_b, review_c, approve), all approving.

The history case runs one instance whose reviews deny, so it loops back to
``accept``; it measures completion latency once the instance has L completed
user tasks behind it. To reach long histories within the time budget the
instance is fast-forwarded in memory (no serialization) between the measured
windows; each measured completion is a full load/complete/store transaction.

Entry point: :func:`run_spiff`. Standalone smoke check::

    python bench/baselines/spiff.py sqlite:////tmp/x.db 50 [10,100,1000]
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskIterator, TaskState

if __package__:
    from ._common import POSTGRES, Budget, Db, HistoryRecorder, ms, parse_db_url, percentile
else:  # run as a script
    from _common import POSTGRES, Budget, Db, HistoryRecorder, ms, parse_db_url, percentile

BPMN_PATH = Path(__file__).with_name("reference_process.bpmn")
PROCESS_ID = "joint_approval"
TABLE = "bench_spiff_workflow"
RECURSION_LIMIT = 100_000
HISTORY_STACK_BYTES = 512 * 1024 * 1024
DEFAULT_HISTORY_WINDOW = 5
LIFTED_MAX_DEPTH = 1_000_000
DEFAULT_CACHE_DIR = Path(tempfile.gettempdir()) / "xietong_bench_spiff_snapshots"

_SERIALIZER = BpmnWorkflowSerializer()


@lru_cache(maxsize=1)
def load_spec() -> BpmnProcessSpec:
    """Parse the reference process once."""
    parser = BpmnParser()
    parser.add_bpmn_file(str(BPMN_PATH))
    return parser.get_spec(PROCESS_ID)


def _reset_table(db: Db) -> None:
    state_type = "text"
    db.script(
        [
            f"DROP TABLE IF EXISTS {TABLE}",
            f"CREATE TABLE {TABLE} (id integer PRIMARY KEY, state {state_type} NOT NULL)",
        ]
    )


def _ready_ids(wf: BpmnWorkflow) -> list[UUID]:
    """The worklist a request returns: ids of READY user tasks."""
    return [t.id for t in wf.get_tasks(state=TaskState.READY, manual=True)]


def _complete_in_memory(wf: BpmnWorkflow, task_id: UUID, deny_reviews: bool) -> str:
    task = wf.get_task_from_id(task_id)
    name: str = task.task_spec.name
    approved = not (deny_reviews and name.startswith("review_"))
    task.set_data(**{f"{name}_ok": approved, "approved": approved})
    task.run()
    wf.do_engine_steps()
    return name


def _select_sql(db: Db) -> str:
    lock = " FOR UPDATE" if db.backend == POSTGRES else ""
    return f"SELECT state FROM {TABLE} WHERE id = ?{lock}"


def _create_tx(db: Db, wf_id: int) -> tuple[BpmnWorkflow, list[UUID], int]:
    """Transaction 1: start an instance and store it."""
    db.begin()
    try:
        wf = BpmnWorkflow(load_spec())
        wf.do_engine_steps()
        ready = _ready_ids(wf)
        state = _SERIALIZER.serialize_json(wf)
        db.execute(f"INSERT INTO {TABLE} (id, state) VALUES (?, ?)", (wf_id, state))
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return wf, ready, len(state)


def _complete_tx(db: Db, wf_id: int, task_id: UUID, deny_reviews: bool) -> tuple[BpmnWorkflow, list[UUID], int]:
    """One request: load, deserialize, complete one task, serialize, store."""
    db.begin()
    try:
        row = db.execute(_select_sql(db), (wf_id,)).fetchone()
        wf = _SERIALIZER.deserialize_json(row[0])
        _complete_in_memory(wf, task_id, deny_reviews)
        ready = _ready_ids(wf)
        state = _SERIALIZER.serialize_json(wf)
        db.execute(f"UPDATE {TABLE} SET state = ? WHERE id = ?", (state, wf_id))
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return wf, ready, len(state)


def _store(db: Db, wf_id: int, wf: BpmnWorkflow) -> int:
    db.begin()
    state = _SERIALIZER.serialize_json(wf)
    db.execute(f"UPDATE {TABLE} SET state = ? WHERE id = ?", (state, wf_id))
    db.commit()
    return len(state)


def _fresh_instances(db: Db, n_instances: int) -> dict[str, Any]:
    completion_s: list[float] = []
    create_s: list[float] = []
    tasks_completed = 0
    transactions = 0
    spiff_tasks = 0
    state_bytes = 0
    started = time.perf_counter()
    for wf_id in range(1, n_instances + 1):
        t0 = time.perf_counter()
        wf, ready, state_bytes = _create_tx(db, wf_id)
        create_s.append(time.perf_counter() - t0)
        transactions += 1
        while ready:
            t0 = time.perf_counter()
            wf, ready, state_bytes = _complete_tx(db, wf_id, ready[0], deny_reviews=False)
            completion_s.append(time.perf_counter() - t0)
            transactions += 1
            tasks_completed += 1
        if not wf.is_completed():
            raise RuntimeError(f"instance {wf_id} stopped without completing")
        spiff_tasks = len(wf.tasks)
    wall = time.perf_counter() - started
    return {
        "wall_s": round(wall, 3),
        "instances_per_s": round(n_instances / wall, 2) if wall > 0 else None,
        "transactions": transactions,
        "tasks_completed": tasks_completed,
        "tasks_per_instance": tasks_completed // n_instances if n_instances else 0,
        "p50_ms": ms(percentile(completion_s, 50)),
        "p99_ms": ms(percentile(completion_s, 99)),
        "mean_ms": ms(statistics.fmean(completion_s)) if completion_s else None,
        "create_p50_ms": ms(percentile(create_s, 50)),
        "spiff_tasks_per_instance": spiff_tasks,
        "state_bytes_per_instance": state_bytes,
    }


def _snapshot_path(cache_dir: Path, history: int, lift_depth_cap: bool) -> Path:
    digest = hashlib.sha256(BPMN_PATH.read_bytes()).hexdigest()[:12]
    version = importlib.metadata.version("spiffworkflow")
    cap = "nocap" if lift_depth_cap else "cap"
    return cache_dir / f"spiff-{version}-{digest}-{cap}-deny-{history}.json"


def _best_snapshot(
    cache_dir: Path | None, above: int, target: int, lift_depth_cap: bool
) -> tuple[int, BpmnWorkflow] | None:
    """The furthest cached state with ``above < history <= target`` (earlier runs' partial progress counts)."""
    if cache_dir is None or not cache_dir.exists():
        return None
    prefix = _snapshot_path(cache_dir, 0, lift_depth_cap).name.removesuffix("0.json")
    lengths = sorted(
        (int(f.name[len(prefix) : -len(".json")]) for f in cache_dir.glob(f"{prefix}*.json")),
        reverse=True,
    )
    for history in (h for h in lengths if above < h <= target):
        wf = _load_snapshot(_snapshot_path(cache_dir, history, lift_depth_cap))
        if wf is not None:
            return history, wf
    return None


def _load_snapshot(path: Path | None) -> BpmnWorkflow | None:
    if path is None or not path.exists():
        return None
    try:
        return _SERIALIZER.deserialize_json(path.read_text(encoding="utf-8"))
    except Exception:  # stale or truncated cache file: rebuild it
        return None


def _save_snapshot(path: Path | None, wf: BpmnWorkflow) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(_SERIALIZER.serialize_json(wf), encoding="utf-8")
    tmp.replace(path)


def _next_ready(wf: BpmnWorkflow, ready: list[UUID], history: int) -> UUID:
    if ready:
        return ready[0]
    raise RuntimeError(
        f"SpiffWorkflow stopped after {history} completed tasks with no READY user task "
        f"(workflow completed={wf.is_completed()}, task tree depth {_tree_depth(wf)}); "
        "TaskIterator(max_depth=1000) no longer sees the deepest tasks"
    )


def _tree_depth(wf: BpmnWorkflow) -> int:
    deepest = max(wf.tasks.values(), key=lambda t: t.depth)
    return int(deepest.depth)


def _history_case(
    db: Db,
    wf_id: int,
    targets: list[int],
    max_seconds: float,
    window: int,
    cache_dir: Path | None,
    lift_depth_cap: bool,
) -> dict[str, Any]:
    """One looping instance (reviews deny); measured windows at each target."""
    recorder = HistoryRecorder(targets, window=window)
    budget = Budget(max_seconds)
    started = time.perf_counter()
    history = 0  # completed user tasks of this instance
    wf: BpmnWorkflow | None = None
    error: str | None = None
    snapshots_used: list[int] = []
    try:
        wf, ready, _ = _create_tx(db, wf_id)
        while not budget.exceeded():
            target = recorder.next_target(history)
            if target is None:
                break
            if history < target:
                cached = _best_snapshot(cache_dir, history, target, lift_depth_cap)
                if cached is not None:
                    history, wf = cached
                    snapshots_used.append(history)
                    ready = _ready_ids(wf)
                resumed_at = history
                # fast-forward in memory (no serialization), untimed
                while history < target and not budget.exceeded():
                    _complete_in_memory(wf, _next_ready(wf, ready, history), deny_reviews=True)
                    ready = _ready_ids(wf)
                    history += 1
                if cache_dir is not None and history > resumed_at:
                    # the target, or as far as the budget went: the next run resumes from here
                    _save_snapshot(_snapshot_path(cache_dir, history, lift_depth_cap), wf)
                ready = _ready_ids(wf)
                _store(db, wf_id, wf)
                continue
            task_id = _next_ready(wf, ready, history)
            t0 = time.perf_counter()
            wf, ready, state_bytes = _complete_tx(db, wf_id, task_id, deny_reviews=True)
            elapsed = time.perf_counter() - t0
            recorder.add(
                history, elapsed, spiff_tasks=len(wf.tasks), tree_depth=_tree_depth(wf), state_bytes=state_bytes
            )
            history += 1
    except RecursionError as exc:
        error = f"RecursionError at {history} completed tasks: {exc}"
    except Exception as exc:  # report, don't crash the benchmark
        error = f"{type(exc).__name__} at {history} completed tasks: {exc}"
    out: dict[str, Any] = recorder.result()
    out["history_reached"] = history
    out["history_spiff_tasks_reached"] = len(wf.tasks) if wf is not None else 0
    out["history_complete"] = all(len(v) >= window for v in recorder.samples.values())
    out["history_wall_s"] = round(time.perf_counter() - started, 3)
    out["history_fast_forward"] = True
    out["history_snapshots_used"] = snapshots_used
    if error is not None:
        out["error"] = error
    elif not out["history_complete"]:
        out["history_stopped"] = f"time budget of {max_seconds}s exhausted"
    return out


@contextlib.contextmanager
def _depth_cap(max_depth: int | None) -> Iterator[None]:
    """Temporarily raise SpiffWorkflow's TaskIterator default ``max_depth``.

    SpiffWorkflow 3.2.0 walks the task tree with ``max_depth=1000``; a looping
    instance whose tree gets deeper stops silently (the gateway below the cap
    is never run and the workflow reports itself completed).
    """
    if max_depth is None:
        yield
        return
    saved: list[tuple[Any, tuple[Any, ...] | None]] = []
    for cls in (TaskIterator, BpmnTaskIterator):
        func = cls.__init__
        names = func.__code__.co_varnames[: func.__code__.co_argcount]
        defaults = func.__defaults__ or ()
        first_default = len(names) - len(defaults)
        patched = tuple(
            max_depth if names[first_default + i] == "max_depth" else value for i, value in enumerate(defaults)
        )
        saved.append((func, func.__defaults__))
        func.__defaults__ = patched
    try:
        yield
    finally:
        for func, defaults_before in saved:
            func.__defaults__ = defaults_before


def _run_with_big_stack(fn: Any, *args: Any) -> dict[str, Any]:
    """Run ``fn(*args)`` in a thread with a large C stack and recursion limit."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = fn(*args)
        except BaseException as exc:
            box["result"] = {"error": f"{type(exc).__name__}: {exc}"}

    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, RECURSION_LIMIT))
    old_size = threading.stack_size(HISTORY_STACK_BYTES)
    try:
        thread = threading.Thread(target=target, name="spiff-history")
        thread.start()
    finally:
        threading.stack_size(old_size)
    thread.join()
    sys.setrecursionlimit(old_limit)
    return box["result"]


def _history_in_thread(
    db_url: str,
    wf_id: int,
    targets: list[int],
    max_seconds: float,
    window: int,
    cache_dir: Path | None,
    lift_depth_cap: bool,
) -> dict[str, Any]:
    db = Db(parse_db_url(db_url))  # sqlite3 connections are per thread
    try:
        with _depth_cap(LIFTED_MAX_DEPTH if lift_depth_cap else None):
            return _history_case(db, wf_id, targets, max_seconds, window, cache_dir, lift_depth_cap)
    finally:
        db.close()


def run_spiff(
    db_url: str,
    n_instances: int,
    history_tasks: list[int] | None = None,
    max_seconds: float = 120.0,
    *,
    history_window: int = DEFAULT_HISTORY_WINDOW,
    lift_depth_cap: bool = True,
    snapshot_cache: bool = True,
) -> dict[str, Any]:
    """Benchmark SpiffWorkflow on the reference process.

    Args:
        db_url: ``sqlite:///path`` or ``postgresql[+psycopg]://user@host:port/db``.
        n_instances: fresh instances to run start to end (all approve), one
            transaction to create + one per user-task completion.
        history_tasks: history lengths (completed user tasks of one looping
            instance) at which to measure completion latency, e.g.
            ``[10, 100, 1000]``; ``None`` or empty skips the history case.
        max_seconds: wall-clock budget for the history case; when it runs out
            the lengths reached so far are reported.
        history_window: completions averaged per history length.
        lift_depth_cap: raise SpiffWorkflow's TaskIterator ``max_depth``
            (1000) during the history case; without it SpiffWorkflow 3.2.0
            silently stops this looping process at 800 completed tasks (tree
            depth 1000) and the result carries ``error``.
        snapshot_cache: reuse/store the fast-forwarded workflow state at each
            history length under the temp directory (only the untimed
            fast-forward is cached; measured completions always run).

    Returns:
        A dict: throughput/latency keys (``instances_per_s``, ``p50_ms``,
        ``p99_ms``, ...) and history keys (``history_ms`` {length: avg ms},
        ``history_detail``, ``history_reached``, ...). Never raises for engine
        failures: they are reported under ``error`` (``None`` if fine).
    """
    target = parse_db_url(db_url)
    result: dict[str, Any] = {
        "engine": "spiffworkflow",
        "engine_version": importlib.metadata.version("spiffworkflow"),
        "backend": target.backend,
        "n_instances": n_instances,
        "error": None,
    }
    db = Db(target)
    try:
        _reset_table(db)
        try:
            result.update(_fresh_instances(db, n_instances))
        except Exception as exc:  # report, don't crash the benchmark
            result["error"] = f"{type(exc).__name__}: {exc}"
            return result
    finally:
        db.close()
    if history_tasks:
        result["spiff_depth_cap_lifted"] = lift_depth_cap
        hist = _run_with_big_stack(
            _history_in_thread,
            db_url,
            n_instances + 1,
            list(history_tasks),
            max_seconds,
            history_window,
            DEFAULT_CACHE_DIR if snapshot_cache else None,
            lift_depth_cap,
        )
        if "error" in hist:
            result["error"] = hist.pop("error")
        result.update(hist)
    return result


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(f"usage: {argv[0]} DB_URL [N_INSTANCES] [HISTORY e.g. 10,100,1000] [MAX_SECONDS]")
        return 2
    n = int(argv[2]) if len(argv) > 2 else 50
    history = [int(x) for x in argv[3].split(",")] if len(argv) > 3 and argv[3] else None
    max_seconds = float(argv[4]) if len(argv) > 4 else 120.0
    print(json.dumps(run_spiff(argv[1], n, history, max_seconds=max_seconds), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
