"""``kill -9`` of a real server (``xietong serve``) and a real worker (``xietong worker``) at random moments
under load loses nothing committed and does nothing twice.

Load: threads complete each case's steps over HTTP, one after the other; an answer lost to a kill is retried,
and a step found already decided (409) is taken as committed. Timers fire during the run: the cases were
accepted two months ago, so their yellow and red cards and their steps' overdue marks are all due. After the
kills the worker is run to quiescence in this process and the invariants are checked against the database.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import httpx
from sqlalchemy import select

from tests.cli.conftest import CliDb
from tests.factories import linear_process, make_city, post_rule, publish_matter
from tests.faults.invariants import check_invariants
from xietong.cases import service
from xietong.db.base import utcnow
from xietong.db.session import unit_of_work
from xietong.engine.models import Task
from xietong.security.models import Credential
from xietong.security.passwords import hash_password

PASSWORD = "Xietong-2026!"
CASES, STEPS, THREADS, KILLS = 16, 3, 4, 6


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Processes:
    """The server and the worker as real processes, each killable with SIGKILL and restartable."""

    def __init__(self, cli_db: CliDb) -> None:
        self.port = _port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **cli_db.env, "XIETONG_DEMO": "true", "XIETONG_PORT": str(self.port),
                    "XIETONG_LOG_LEVEL": "warning"}
        self.server = self._start("serve")
        self.worker = self._start("worker", "--idle-seconds", "0.05")
        try:
            self.ready()
        except BaseException:
            self.stop()
            raise

    def _start(self, *command: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "xietong", *command], env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def ready(self) -> None:
        assert _wait(lambda: _answers(f"{self.base}/readyz"), 180), "the server did not come up"

    def kill(self, which: str) -> None:
        process = getattr(self, which)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        setattr(self, which, self._start("serve") if which == "server" else self._start("worker", "--idle-seconds",
                                                                                           "0.05"))
        if which == "server":
            self.ready()

    def stop(self) -> None:
        for process in (self.server, self.worker):
            process.send_signal(signal.SIGKILL)
            process.wait(10)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _wait(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _setup(cli_db: CliDb) -> tuple[list[str], dict[int, int]]:
    """Cases accepted two months ago, so every card and overdue mark is due; returns log-ins and case → task."""
    past = utcnow() - timedelta(days=60)
    with unit_of_work(cli_db.engine) as session:
        city = make_city(session)
        local = publish_matter(session, city, linear_process(*((f"step{i + 1}", post_rule("finance"))
                                                              for i in range(STEPS))))
        password = hash_password(PASSWORD)
        session.add_all(Credential(person_id=p.id, password_hash=password, must_change=False)
                        for p in city.people.values())
        applicant, acceptor = city.principal(session, "office"), city.principal(session, "staffing")
        first: dict[int, int] = {}
        for i in range(CASES):
            case_id, _ = service.submit_case(session, principal=applicant, local_matter_id=local.id,
                                             applicant_unit_id=city.units["office"].id, form={"title": f"件{i}"},
                                             now=past)
            (first[case_id],) = service.accept_case(session, principal=acceptor, case_id=case_id, now=past)
    return [city.person("finance", "section_chief", n).username for n in range(2)], first


def _open_task(cli_db: CliDb, case_id: int) -> int | None:
    with unit_of_work(cli_db.engine) as session:
        return session.scalar(select(Task.id).where(Task.case_id == case_id, Task.state == "open"))


def test_kill_9_of_server_and_worker_under_load_loses_nothing_and_repeats_nothing(cli_db: CliDb) -> None:
    usernames, first = _setup(cli_db)
    procs = Processes(cli_db)
    acknowledged: list[int] = []
    failures: list[str] = []
    cases = list(first.items())
    lock = threading.Lock()
    deadline = time.monotonic() + 120  # a bound on the run, not a timing under test

    def post(client: httpx.Client, url: str, **kw: object) -> httpx.Response | None:
        while time.monotonic() < deadline:
            try:
                return client.post(url, **kw)  # type: ignore[arg-type]
            except httpx.HTTPError:
                time.sleep(0.1)  # the server is down or was killed mid-answer: try again
        return None

    def load(n: int) -> None:
        with httpx.Client(base_url=procs.base, timeout=10) as client:
            login = post(client, "/api/v1/auth/login", json={"username": usernames[n % 2], "password": PASSWORD})
            assert login is not None and login.status_code == 200
            client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
            while True:
                with lock:
                    if not cases:
                        return
                    case_id, task_id = cases.pop()
                while task_id is not None:
                    response = post(client, f"/api/v1/tasks/{task_id}/complete", json={"decision": "approve"})
                    if response is None:
                        failures.append("the run passed its bound")
                        return
                    if response.status_code == 200:
                        with lock:
                            acknowledged.append(task_id)
                        task_id = (response.json()["task_ids"] or [None])[0]
                    elif response.status_code == 409:  # decided before a kill took the answer away
                        task_id = _open_task(cli_db, case_id)
                    else:
                        failures.append(f"{response.status_code} {response.text[:200]}")
                        return

    threads = [threading.Thread(target=load, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    rng = random.Random()
    kills = Counter[str]()
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.2, 1.0))
            which = rng.choice(("server", "worker"))
            procs.kill(which)
            kills[which] += 1
        for thread in threads:
            thread.join(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        procs.stop()
    assert not failures, failures
    assert not any(thread.is_alive() for thread in threads)
    check_invariants(cli_db, first, acknowledged, steps=STEPS)
    assert sum(kills.values()) == KILLS
