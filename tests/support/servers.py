"""Real gunicorn servers on a test's database, and the commands an operator runs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .apps import HERMETIC
from .client import Api, HttpTransport
from .engines import Probe, TestDatabase

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = [sys.executable, "-m", "gunicorn"]
FLASK = [str(Path(sys.executable).with_name("flask")), "--app", "app"]


def run_in_repo(command: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    """Run a command from the repository root, as an operator would, and capture its output."""
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    database: TestDatabase
    process: subprocess.Popen
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def api(self) -> Api:
        return Api(HttpTransport(self.url))

    @property
    def db_path(self) -> Path | None:
        return self.database.path

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Stop the master and, should it be dead already, any workers it orphaned."""
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()

    @contextmanager
    def probe(self) -> Iterator[Probe]:
        """A connection of the test's own to the server's database."""
        with self.database.connect() as db:
            yield db


def service_env(database: TestDatabase, env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a server or command of the tests runs with. Set in the environment, so
    it wins over any .env in the repository."""
    base = dict(os.environ)
    base.update({name: value for name, value in HERMETIC.items() if name != "TESTING"})
    # Races and load from one address: limits no test of a limit would set.
    base.update({"DATABASE_URL": database.url, "SCAN_RATE_LIMIT": "100000 per minute", "OTP_SEND_LIMIT": "100000"})
    base.update(env or {})
    return base


def start_gunicorn(
    database: TestDatabase, folder: Path, workers: int = 4, env: dict[str, str] | None = None
) -> LiveServer:
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = folder / "gunicorn.log"
    # Where a browser reaches this server: the coupons' addresses are made from it.
    full_env = service_env(database, {"PUBLIC_URL": f"http://127.0.0.1:{port}", **(env or {})})
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*GUNICORN, "app:app", "-w", str(workers), "-b", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", database, process, log_path, full_env)
    wait_until_serving(server)
    return server


def wait_until_serving(server: LiveServer, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.process.returncode}:\n{server.log()}")
        try:
            if server.api.call("GET", "/version", timeout=2).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"gunicorn did not answer within {timeout}s:\n{server.log()}")
