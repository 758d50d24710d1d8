"""A real gunicorn on a temporary database, and plain HTTP to talk to it."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewards.config import DEVELOPMENT_VALUES
from rewards.db import init_schema

ROOT = Path(__file__).resolve().parent.parent
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
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


def call(
    base: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 30
) -> Reply:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        data = None if body is None else json.dumps(body).encode()
        all_headers = {"Content-Type": "application/json"} if data is not None else {}
        all_headers.update(headers or {})
        conn.request(method, path, body=data, headers=all_headers)
        response = conn.getresponse()
        raw = response.read()
        parsed = json.loads(raw) if raw else None
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, parsed)
    finally:
        conn.close()


@dataclass
class LiveServer:
    url: str
    db_path: Path
    process: subprocess.Popen
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 30
    ) -> Reply:
        return call(self.url, method, path, body, headers, timeout)

    def login(self, phone: str) -> str:
        code = self.call("POST", "/auth/otp", {"phone": phone}).body["otp"]
        reply = self.call("POST", "/auth/verify", {"phone": phone, "otp": code})
        assert reply.status == 200, reply.body
        return reply.body["access_token"]

    def generate(self, count: int, admin_key: str, **fields: Any) -> list[str]:
        reply = self.call("POST", "/coupons/generate", {"count": count, **fields}, {"X-API-Key": admin_key})
        assert reply.status == 201, reply.body
        return [c["token"] for c in reply.body["coupons"]]

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
    def database(self) -> Iterator[sqlite3.Connection]:
        """A connection of the test's own to the server's database file."""
        conn = sqlite3.connect(self.db_path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            yield conn
        finally:
            conn.close()


def gunicorn_env(folder: Path, env: dict[str, str]) -> dict[str, str]:
    base = dict(os.environ)
    base.update(
        {
            # Set in the environment, so they win over any .env in the repository.
            "APP_ENV": "development",
            "JWT_SECRET": DEVELOPMENT_VALUES["JWT_SECRET"],
            "ADMIN_API_KEY": DEVELOPMENT_VALUES["ADMIN_API_KEY"],
            "DATABASE_URL": f"sqlite:///{folder / 'rewards.db'}",
            "OTP_DELIVERY": "response",
            "SCAN_RATE_LIMIT": "100000 per minute",
            "OTP_SEND_LIMIT": "100000",
            "AUTH_IP_RATE_LIMIT": "100000 per hour",
        }
    )
    base.update(env)
    return base


def start_gunicorn(folder: Path, workers: int = 4, env: dict[str, str] | None = None, init: bool = True) -> LiveServer:
    folder.mkdir(parents=True, exist_ok=True)
    db_path = folder / "rewards.db"
    if init:
        init_schema(str(db_path))
    port = free_port()
    log_path = folder / "gunicorn.log"
    full_env = gunicorn_env(folder, env or {})
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*GUNICORN, "app:app", "-w", str(workers), "-b", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", db_path, process, log_path, full_env)
    wait_until_serving(server)
    return server


def wait_until_serving(server: LiveServer, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.process.returncode}:\n{server.log()}")
        try:
            if server.call("GET", "/version", timeout=2).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"gunicorn did not answer within {timeout}s:\n{server.log()}")
