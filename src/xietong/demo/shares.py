"""Playing the demo history in two interleaved shares — in two worker processes where the platform forks.

Share *k* of :data:`SHARES` plays plans *k*, *k* + 2, … and hands out ids *base* + 2·*n* + *k* for
its *n*-th row of each table, so the shares never collide, the ids stay dense, a case's id is *base*
plus its plan's position, and the rows (hence the event hashes) are the same whether the shares run
one after the other in this process or side by side in forked workers. The workers also bind the
values (timestamps, JSON) and send finished batches to this process, which alone writes to the
database. A worker must not touch the database: the assignments it needs are looked up beforehand
(:func:`prewarm`) and its assigner is frozen.
"""

from __future__ import annotations

import multiprocessing
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection as Pipe
from multiprocessing.connection import wait
from typing import Any

from xietong.demo.bulk import PreparedInsert
from xietong.demo.context import CachedAssigner, Context
from xietong.demo.history import play
from xietong.demo.timeline import Plan
from xietong.engine.schema import ExpressionRule
from xietong.engine.state import CaseView

SHARES = 2  # fixed: the ids, hence the hashes, depend on it — never on the machine
HISTORY_TABLES = ("case", "attachment", "case_party", "scope", "task", "event", "timer")
BATCH_ROWS = 30_000

Batch = list[tuple[str, list[list[Any]]]]


class InterleavedIds:
    """The ids of one share: ``base + shares * n + share`` for the n-th row of each table."""

    def __init__(self, bases: dict[str, int], share: int, shares: int = SHARES) -> None:
        self.bases, self.share, self.shares = bases, share, shares
        self.used: dict[str, int] = {}

    def __call__(self, table: str) -> int:
        n = self.used.get(table, 0)
        self.used[table] = n + 1
        return self.bases[table] + self.shares * n + self.share


@dataclass
class Job:
    """Everything the shares need: the context, the plans with their case numbers, the prepared inserts."""

    ctx: Context
    plans: list[Plan]
    numbers: list[str]
    statements: dict[str, PreparedInsert]
    bases: dict[str, int]


def prewarm(ctx: Context, plans: list[Plan]) -> None:
    """Ask the assigner once for every step of every planned case, so the workers find all answers cached."""
    seen: set[tuple[int, int]] = set()
    for plan in plans:
        matter = plan.matter
        applicant = ctx.ids.unit[plan.applicant.unit_key]
        if (matter.local_id, applicant) in seen:
            continue
        seen.add((matter.local_id, applicant))
        view = CaseView(0, {}, {}, 0, applicant, matter.handling_unit_id, matter.region_id)
        for node in matter.process.user_tasks():
            if not isinstance(node.assign, ExpressionRule):
                ctx.assigner.slots(node.id, node.assign, view, multi=node.multi is not None, now=ctx.as_of)


def play_shares(job: Job, write: Callable[[Batch], None], done: Callable[[int], None], *, fork: bool) -> None:
    """Play every plan; ``write`` gets each batch of bound rows, ``done`` the number of cases played so far."""
    if fork:
        _forked(job, write, done)
        return
    total = 0
    for share in range(SHARES):
        for cases, batch in _play_share(job, share):
            write(batch)
            total += cases
            done(total)


def can_fork(ctx: Context) -> bool:
    """Whether the shares may run in forked workers: the platform forks, this process has no other thread
    (forking a threaded process can deadlock the child) and every assignment can be cached."""
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
        and isinstance(ctx.assigner, CachedAssigner)
    )


def _play_share(job: Job, share: int) -> Iterator[tuple[int, Batch]]:
    """(cases played since the last batch, batch) for one share."""
    ctx = replace(job.ctx, next_id=InterleavedIds(job.bases, share))
    buffer: dict[str, list[dict[str, Any]]] = {}
    rows = cases = 0
    for i in range(share, len(job.plans), SHARES):
        case_id = ctx.next_id("case")
        for table, row in play(ctx, job.plans[i], case_id, job.numbers[i]):
            buffer.setdefault(table, []).append(row)
            rows += 1
        cases += 1
        if rows >= BATCH_ROWS:
            yield cases, _bind(job, buffer)
            buffer, rows, cases = {}, 0, 0
    if cases:
        yield cases, _bind(job, buffer)


def _bind(job: Job, buffer: dict[str, list[dict[str, Any]]]) -> Batch:
    return [(t, job.statements[t].values(buffer[t])) for t in HISTORY_TABLES if t in buffer]


def _worker(job: Job, share: int, pipe: Pipe) -> None:
    try:
        assigner = job.ctx.assigner
        assert isinstance(assigner, CachedAssigner)
        assigner.freeze()  # the database connection belongs to the parent
        for cases, batch in _play_share(job, share):
            pipe.send(("rows", cases, batch))
        pipe.send(("done", 0, []))
    except BaseException:
        pipe.send(("error", 0, traceback.format_exc()))
    finally:
        pipe.close()


def _forked(job: Job, write: Callable[[Batch], None], done: Callable[[int], None]) -> None:
    context = multiprocessing.get_context("fork")
    readers: list[Pipe] = []
    workers = []
    for share in range(SHARES):
        reader, writer = context.Pipe(duplex=False)
        worker = context.Process(target=_worker, args=(job, share, writer), daemon=True)
        worker.start()
        writer.close()
        readers.append(reader)
        workers.append(worker)
    total, failure = 0, None
    try:
        while readers and failure is None:
            for ready in wait(readers):
                reader = next(r for r in readers if r is ready)  # wait() returns the pipes it was given
                try:
                    kind, cases, payload = reader.recv()
                except EOFError:
                    kind, cases, payload = "error", 0, "a demo worker ended without finishing its share"
                if kind == "rows":
                    write(payload)
                    total += cases
                    done(total)
                elif kind == "error":
                    failure = payload
                    break
                else:
                    readers.remove(reader)
    finally:
        for worker in workers:
            if failure is not None:
                worker.terminate()
            worker.join()
    if failure is not None:
        raise RuntimeError(f"demo history worker failed:\n{failure}")
