"""HTTP benchmark: task completions over real HTTP against PostgreSQL, through one and through two app processes.

Setup (in this process, through the services): a scratch PostgreSQL database; a city whose finance section
chiefs hold every step of a linear process of ``--steps`` steps; ``--cases`` cases submitted and accepted, so
each has its first step open. The app processes are real ``xietong serve`` processes (uvicorn, one each) on
loopback ports. The load generator is a separate process (``--load``): asyncio + httpx, logged in once per
app process (database sessions: a session opened on one process is valid on the other), ``--concurrency``
chains at once; each chain completes a case's open step with ``POST /api/v1/tasks/{id}/complete`` and goes
on with the task id the answer returns, until the case's last step. With two app processes the chains are
dealt round-robin to them. Every request is timed from send to the end of the answer.

    python bench/http.py                               # one, then two app processes
    python bench/http.py --cases 150 --steps 8 --concurrency 16

Printed: completions/s, p50/p99 latency per run, and the two-process ÷ one-process ratio. The machine has
two cores shared by the server(s), PostgreSQL, the load generator — and whatever else runs on it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and this file would hide the standard ``http``
# (which httpx imports, below, lazily): put the repository there instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
PASSWORD = "Xietong-2026!"
TARGET_RATE, TARGET_P99_MS = 300.0, 100.0


# --- the load generator (its own process) -------------------------------------------------------------------


async def _login(client: Any, username: str) -> None:
    response = await client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    response.raise_for_status()
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]


async def _load(
    bases: list[str], usernames: list[str], first_tasks: list[int], concurrency: int, warmup: int
) -> dict[str, Any]:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    clients = [httpx.AsyncClient(base_url=base, limits=limits, timeout=30) for base in bases]
    for i, client in enumerate(clients):
        await _login(client, usernames[i % len(usernames)])
    latencies: list[float] = []
    failures: list[str] = []
    queue: asyncio.Queue[tuple[int, int]] = asyncio.Queue()

    async def chain() -> None:
        while not queue.empty():
            i, task_id = queue.get_nowait()
            client = clients[i % len(clients)]
            while True:
                started = time.perf_counter()
                response = await client.post(f"/api/v1/tasks/{task_id}/complete", json={"decision": "approve"})
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:200]}")
                    break
                new = response.json()["task_ids"]
                if not new:
                    break
                task_id = new[0]

    # Warm-up (untimed): every app process compiles its statements and fills its pools, as a running one has.
    for i, task_id in enumerate(first_tasks[:warmup]):
        queue.put_nowait((i, task_id))
    await asyncio.gather(*(chain() for _ in range(concurrency)))
    latencies.clear()
    for i, task_id in enumerate(first_tasks[warmup:]):
        queue.put_nowait((i, task_id))
    started = time.perf_counter()
    await asyncio.gather(*(chain() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    for client in clients:
        await client.aclose()
    return {"completions": len(latencies) - len(failures), "wall": wall, "latencies": latencies,
            "failures": failures[:5], "failed": len(failures)}


def load_main(spec: str) -> None:
    args = json.loads(Path(spec).read_text())
    result = asyncio.run(_load(args["bases"], args["usernames"], args["tasks"], args["concurrency"], args["warmup"]))
    print(json.dumps(result))


# --- setup and the app processes ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(url: str, cases: int, steps: int) -> tuple[list[str], list[int]]:
    """A city, a matter of ``steps`` steps held by the finance section chiefs, ``cases`` accepted cases."""
    from tests.factories import linear_process, make_city, post_rule, publish_matter

    from xietong.cases import service
    from xietong.config import Settings
    from xietong.db import migrate
    from xietong.db.engine import create_db_engine
    from xietong.db.session import unit_of_work
    from xietong.security.models import Credential
    from xietong.security.passwords import hash_password

    engine = create_db_engine(Settings(database_url=url, demo=True))
    migrate.upgrade(engine)
    process = linear_process(*((f"step{i}", post_rule("finance")) for i in range(steps)))
    with unit_of_work(engine) as session:
        city = make_city(session, holders=2)
        local = publish_matter(session, city, process)
        password = hash_password(PASSWORD)
        session.add_all(Credential(person_id=p.id, password_hash=password, must_change=False)
                        for p in city.people.values())
    chiefs = [city.person("finance", "section_chief", n).username for n in range(2)]
    tasks: list[int] = []
    for start in range(0, cases, 50):
        with unit_of_work(engine) as session:
            applicant, acceptor = city.principal(session, "office"), city.principal(session, "staffing")
            for i in range(start, min(cases, start + 50)):
                case_id, _ = service.submit_case(
                    session, principal=applicant, local_matter_id=local.id,
                    applicant_unit_id=city.units["office"].id, form={"title": f"压测{i}"},
                )
                tasks += service.accept_case(session, principal=acceptor, case_id=case_id)
    engine.dispose()
    return chiefs, tasks


def start_servers(url: str, count: int) -> tuple[list[subprocess.Popen[bytes]], list[str]]:
    servers, bases = [], []
    for _ in range(count):
        port = _free_port()
        env = {**os.environ, "XIETONG_DATABASE_URL": url, "XIETONG_DEMO": "true", "XIETONG_PORT": str(port),
               "XIETONG_LOG_LEVEL": "warning", "XIETONG_DATA_DIR": f"/tmp/xietong-bench-http-{os.getpid()}"}
        servers.append(subprocess.Popen([sys.executable, "-m", "xietong", "serve"], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        bases.append(f"http://127.0.0.1:{port}")
    import httpx

    for base in bases:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{base} did not become ready")
            time.sleep(0.2)
    return servers, bases


def run(processes: int, args: argparse.Namespace) -> dict[str, Any]:
    from bench.scratch import scratch_postgres

    name = f"xietong_bench_http_{os.getpid()}_{processes}"
    url = scratch_postgres(args.pg, name, create=True)
    try:
        usernames, tasks = prepare(url, args.cases + args.warmup, args.steps)
        servers, bases = start_servers(url, processes)
        try:
            spec = Path(f"/tmp/xietong-bench-http-{os.getpid()}.json")
            spec.write_text(json.dumps({"bases": bases, "usernames": usernames, "tasks": tasks,
                                        "concurrency": args.concurrency, "warmup": args.warmup}))
            out = subprocess.run([sys.executable, __file__, "--load", str(spec)], capture_output=True, check=True)
            spec.unlink()
            result: dict[str, Any] = json.loads(out.stdout)
        finally:
            for server in servers:
                server.terminate()
            for server in servers:
                server.wait(10)
    finally:
        scratch_postgres(args.pg, name, create=False)
    latencies = sorted(result.pop("latencies"))
    result["rate"] = result["completions"] / result["wall"]
    result["p50_ms"] = statistics.median(latencies) * 1000
    result["p99_ms"] = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", default=os.environ.get("XIETONG_BENCH_PG_URL", PG_URL))
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=20, help="cases run through first, untimed")
    parser.add_argument("--load", help=argparse.SUPPRESS)  # the load generator's own entry
    args = parser.parse_args()
    if args.load:
        load_main(args.load)
        return
    print(f"task completions over HTTP, PostgreSQL; {args.cases} cases × {args.steps} steps after "
          f"{args.warmup} warm-up cases, "
          f"{args.concurrency} concurrent chains, load generator in its own process; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    results = {}
    for processes in (1, 2):
        r = results[processes] = run(processes, args)
        print(f"  {processes} app process{'es' if processes > 1 else ''}: {r['completions']} completions in "
              f"{r['wall']:.2f} s = {r['rate']:.0f}/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms"
              + (f", {r['failed']} failed: {r['failures']}" if r["failed"] else ""))
    ratio = results[2]["rate"] / results[1]["rate"]
    one = results[1]
    ok = one["rate"] >= TARGET_RATE and one["p99_ms"] < TARGET_P99_MS
    print(f"  two ÷ one process: {ratio:.2f}")
    print(f"  target ≥ {TARGET_RATE:.0f}/s with p99 < {TARGET_P99_MS:.0f} ms through one process: "
          f"{'met' if ok else 'NOT met'}; two processes no slower: {'yes' if ratio >= 1 else 'no'}")


if __name__ == "__main__":
    main()
