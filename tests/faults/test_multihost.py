"""Two app hosts and two workers in separate network namespaces share one PostgreSQL; load goes through both,
one host is killed mid-run (server and worker at once), its clients fail over to the other, and afterwards
nothing was lost or done twice (``invariants.check_invariants``).

It needs PostgreSQL (the SQLite pass skips it: a file is no multi-host database) and root for ``ip netns``;
in CI (``CI=true``) a machine that cannot make a namespace fails the test rather than skipping it.
"""

from __future__ import annotations

import os
import threading
import time

import httpx
import pytest

from tests.cli.conftest import CliDb
from tests.conftest import PG_ENV
from tests.faults.invariants import check_invariants
from tests.faults.multihost import hosts, netns_available
from tests.faults.test_kill9 import PASSWORD, STEPS, _open_task, _setup

pytestmark = pytest.mark.skipif(not os.environ.get(PG_ENV), reason="several hosts share PostgreSQL, not a file")


def test_two_hosts_in_namespaces_one_killed_mid_run_lose_and_repeat_nothing(cli_db: CliDb) -> None:
    why = netns_available()
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(f"多主机测试无法创建网络命名空间：{why}", pytrace=False)
        pytest.skip(f"ip netns unavailable: {why}")
    usernames, first = _setup(cli_db)
    extra = {k: v for k, v in cli_db.env.items() if k != "XIETONG_DATABASE_URL"}
    acknowledged: list[int] = []
    failures: list[str] = []
    served: dict[str, int] = {}
    cases = list(first.items())
    lock = threading.Lock()
    deadline = time.monotonic() + 90  # a bound on the run, not a timing under test
    with hosts(cli_db.env["XIETONG_DATABASE_URL"], extra_env=extra) as (one, two):
        bases = [one.base, two.base]

        def load(n: int) -> None:
            order = [bases[n % 2], bases[(n + 1) % 2]]  # half the clients start on each host
            clients = [httpx.Client(base_url=base, timeout=10) for base in order]
            for client in clients:  # one log-in each; the session is in the database, so either host knows it
                login = client.post("/api/v1/auth/login", json={"username": usernames[n % 2], "password": PASSWORD})
                assert login.status_code == 200, login.text
                client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
            current = 0
            try:
                while True:
                    with lock:
                        if not cases:
                            return
                        case_id, task_id = cases.pop()
                    while task_id is not None and time.monotonic() < deadline:
                        try:
                            response = clients[current].post(f"/api/v1/tasks/{task_id}/complete",
                                                             json={"decision": "approve"})
                        except httpx.HTTPError:
                            current = 1 - current  # that host is gone: fail over, as a load balancer would
                            continue
                        if response.status_code == 200:
                            with lock:
                                acknowledged.append(task_id)
                                served[order[current]] = served.get(order[current], 0) + 1
                            task_id = (response.json()["task_ids"] or [None])[0]
                        elif response.status_code == 409:  # decided, but the answer died with the host
                            task_id = _open_task(cli_db, case_id)
                        else:
                            failures.append(f"{response.status_code} {response.text[:200]}")
                            return
            finally:
                for client in clients:
                    client.close()

        threads = [threading.Thread(target=load, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        while len(acknowledged) < len(first) and time.monotonic() < deadline:
            time.sleep(0.05)
        one.kill()  # mid-run: server and worker of the first host at once
        killed_at = len(acknowledged)
        for thread in threads:
            thread.join(timeout=max(1.0, deadline - time.monotonic()))
    assert not failures, failures
    assert not any(thread.is_alive() for thread in threads), "the load did not finish within its bound"
    assert 0 < killed_at < len(first) * STEPS, "the kill did not land mid-run; nothing was tested"
    assert served.get(one.base) and served.get(two.base), served  # both hosts carried load
    check_invariants(cli_db, first, acknowledged, steps=STEPS)
