"""Two app hosts and two workers in network namespaces of their own, against one PostgreSQL.

Each host is a network namespace (``ip netns``) joined to this one by a veth pair with the test's own
addresses from 198.18.0.0/15 (the range set aside for network benchmark tests; no traffic leaves the machine).
127.0.0.0/8 does not route across a veth, so inside a namespace PostgreSQL is reached through its Unix socket.
Each host runs ``xietong serve`` on its own address and ``xietong worker``. Needs root (CI and the dev machines
run as root). Used by ``test_multihost.py``; run by hand with ``python -m tests.faults.multihost URL`` to keep
two hosts up against the database at URL until Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

import httpx
from sqlalchemy.engine import make_url

PG_SOCKET_DIR = "/var/run/postgresql"
PORT = 8000


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def socket_url(url: str, socket_dir: str = PG_SOCKET_DIR) -> str:
    """The same database through PostgreSQL's Unix socket (what a process in a namespace can reach)."""
    parsed = make_url(url)
    return f"postgresql://{parsed.username or 'postgres'}@/{parsed.database}?host={socket_dir}"


@dataclass
class Host:
    name: str  # the namespace
    address: str
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://{self.address}:{PORT}"

    def start(self) -> None:
        for role, command in (("server", ["serve"]), ("worker", ["worker", "--idle-seconds", "0.05"])):
            self.processes[role] = subprocess.Popen(
                ["ip", "netns", "exec", self.name, sys.executable, "-m", "xietong", *command], env=self.env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )

    def ready(self, seconds: float = 180) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"host {self.name} did not come up at {self.base}")

    def kill(self) -> None:
        """The host dies: SIGKILL to its server and worker (``ip netns exec`` execs them, so the pid is theirs)."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
            process.wait(10)


@contextmanager
def hosts(database_url: str, count: int = 2, extra_env: dict[str, str] | None = None) -> Iterator[list[Host]]:
    """``count`` namespaces, each with a server and a worker on ``database_url``'s database; all removed after."""
    tag = os.getpid() % 10_000
    made: list[Host] = []
    try:
        for n in range(count):
            name, outer, inner = f"xt{tag}h{n}", f"xt{tag}o{n}", f"xt{tag}i{n}"
            subnet = f"198.18.{(tag % 60) * 4 + n}"
            _ip("netns", "add", name)
            made.append(Host(name, f"{subnet}.2", {}))
            _ip("link", "add", outer, "type", "veth", "peer", "name", inner)
            _ip("link", "set", inner, "netns", name)
            _ip("addr", "add", f"{subnet}.1/30", "dev", outer)
            _ip("link", "set", outer, "up")
            _ip("netns", "exec", name, "ip", "addr", "add", f"{subnet}.2/30", "dev", inner)
            _ip("netns", "exec", name, "ip", "link", "set", inner, "up")
            _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
            made[-1].env = {
                **os.environ, **(extra_env or {}), "XIETONG_DATABASE_URL": socket_url(database_url),
                "XIETONG_DEMO": "true", "XIETONG_HOST": made[-1].address, "XIETONG_PORT": str(PORT),
                "XIETONG_LOG_LEVEL": "warning", "XIETONG_BLOB_STORE": "database",
            }
        for host in made:
            host.start()
        for host in made:
            host.ready()
        yield made
    finally:
        for host in made:
            host.kill()
            subprocess.run(["ip", "netns", "del", host.name], check=False, capture_output=True)


def netns_available() -> str | None:
    """Why network namespaces cannot be made here, or None."""
    probe = f"xtprobe{os.getpid() % 10_000}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        return (made.stderr or "ip netns add failed").strip()
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, check=False)
    return None


if __name__ == "__main__":
    with hosts(sys.argv[1]) as running:
        for host in running:
            print(f"{host.name}: {host.base}")
        with suppress(KeyboardInterrupt):
            signal.pause()
