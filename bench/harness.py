"""The bench's harness: gunicorn servers to load, wrk runs (medians of several), and the rows
they add to bench/RESULTS.md."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from rewards.db import Database
from rewards.db.migrate import init_db
from rewards.db.sqlite import SqliteBackend

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
LUA = ROOT / "bench" / "lua"
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
# Figures on a shared 2-core machine swing by 2x from one run to the next, so every HTTP row
# is the median of this many runs.
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
WRK_THREADS = 2
PORT = int(os.environ.get("BENCH_PORT", "8321"))
BIN = Path(sys.executable).parent
MILLION = int(os.environ.get("BENCH_GEN_COUNT", "1000000"))

rows: list[dict] = []
commands: list[str] = []


class InvariantBroken(SystemExit):
    pass


def need_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing; installing it from Debian's packages", file=sys.stderr)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
        return shutil.which("wrk")
    raise SystemExit("bench needs wrk: sudo apt-get install -y wrk (Debian/Ubuntu), brew install wrk (macOS)")


def median_of(runs: list[dict]) -> dict:
    ranked = sorted(runs, key=lambda figures: figures["rps"])
    chosen = dict(ranked[len(ranked) // 2])
    chosen["runs"] = [round(figures["rps"]) for figures in runs]
    return chosen


def measure(script: str, path: str = "/", *, after=None, distinct: bool = False, **options) -> dict:
    """The median of REPEATS wrk runs; `after(figures)` runs after each (invariant checks).
    With `distinct`, each run scans its own share of the coupon file."""
    runs = []
    for run in range(REPEATS):
        if distinct:
            options.update(BENCH_RUNS=str(REPEATS), BENCH_RUN=str(run))
        figures = wrk(script, path, **options)
        if after:
            after(figures)
        runs.append(figures)
    return median_of(runs)


def wrk(
    script: str,
    path: str = "/",
    *,
    threads: int = WRK_THREADS,
    connections: int = CONNECTIONS,
    ports: list[int] | None = None,
    **env: str,
) -> dict:
    """One wrk per port (gunicorn instance), run together, sharing `threads` and `connections`
    between them; their figures added up (latencies: the worst of them)."""
    ports = ports or [PORT]
    share_threads, share_connections = max(1, threads // len(ports)), connections // len(ports)
    processes = []
    cpu_before = sum(server.cpu_seconds() for server in SERVER)
    for i, port in enumerate(ports):
        command = [
            need_wrk(),
            "-t",
            str(share_threads),
            "-c",
            str(share_connections),
            "-d",
            f"{SECONDS}s",
            "-s",
            str(LUA / script),
            f"http://127.0.0.1:{port}{path}",
        ]
        shown = " ".join(f"{k}={v if len(str(v)) < 40 else '...'}" for k, v in env.items() if k != "BENCH_RUN")
        shown_command = f"{shown} {' '.join(command[:-1])} http://127.0.0.1:{port}{path}".replace(str(ROOT) + "/", "")
        if shown_command not in commands:
            commands.append(shown_command)
        full_env = {
            **os.environ,
            "BENCH_LUA": str(LUA),
            # Every thread of every wrk walks its own share of a coupon file.
            "BENCH_THREADS": str(share_threads * len(ports)),
            "BENCH_OFFSET": str(i * share_threads),
            "BENCH_PATH": path,
            **env,
        }
        processes.append(
            subprocess.Popen(command, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        )
    outputs = [process.communicate(timeout=SECONDS + 60) for process in processes]
    cpu_used = sum(server.cpu_seconds() for server in SERVER) - cpu_before
    parts = []
    for stdout, stderr in outputs:
        line = next((text for text in stdout.splitlines() if text.startswith("BENCH ")), None)
        if line is None:
            raise SystemExit(f"wrk printed no result:\n{stdout}\n{stderr}")
        parts.append(json.loads(line.removeprefix("BENCH ")))
    figures = {
        "requests": sum(p["requests"] for p in parts),
        "seconds": max(p["seconds"] for p in parts),
        "p50_us": max(p["p50_us"] for p in parts),
        "p99_us": max(p["p99_us"] for p in parts),
        "socket_errors": sum(p["socket_errors"] for p in parts),
        "statuses": {},
    }
    for part in parts:
        for status, n in part["statuses"].items():
            figures["statuses"][status] = figures["statuses"].get(status, 0) + n
    figures["rps"] = sum(p["requests"] / p["seconds"] for p in parts)
    # CPU the servers (masters and workers) spent per request: where the cores go.
    figures["cpu_us"] = cpu_used / max(1, figures["requests"]) * 1e6
    return figures


SERVER: list = []  # the running Servers, for wrk() to read their CPU time


class Server:
    def __init__(
        self, url: str, shown_url: str, port: int = PORT, tree: Path = ROOT, wsgi: str = "app:app", **extra: str
    ) -> None:
        """gunicorn serving `wsgi` (the service, or bench/floor_app.py's) of the code in `tree`
        (this checkout, or an earlier commit's)."""
        self.port = port
        env = {
            **os.environ,
            **extra,
            "DATABASE_URL": url,
            "OTP_DELIVERY": "response",
            "SCAN_RATE_LIMIT": "1000000000 per minute",
            "OTP_SEND_LIMIT": "1000000000",
            "AUTH_IP_RATE_LIMIT": "1000000000 per hour",
            "PORT": str(port),
        }
        shown_extra = "".join(f"{k}={v} " for k, v in extra.items())
        commands.append(
            f"{shown_extra}DATABASE_URL={shown_url} OTP_DELIVERY=response SCAN_RATE_LIMIT='1000000000 per minute' "
            f"OTP_SEND_LIMIT=1000000000 AUTH_IP_RATE_LIMIT='1000000000 per hour' PORT={port} .venv/bin/gunicorn {wsgi}"
            "   # gunicorn.conf.py: its workers, sync"
        )
        self.log = (OUT / f"gunicorn-{port}.log").open("wb")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), wsgi],
            cwd=tree,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise SystemExit("gunicorn did not start; see bench/out/gunicorn.log")

    def cpu_seconds(self) -> float:
        """User + system CPU of the master, its reaped workers and its live workers."""
        tick = os.sysconf("SC_CLK_TCK")

        def fields(pid: int) -> list[str]:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()

        master = fields(self.process.pid)
        total = sum(int(v) for v in master[11:15])  # utime stime cutime cstime
        for child in Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split():
            try:
                total += sum(int(v) for v in fields(int(child))[11:13])
            except FileNotFoundError:
                pass
        return total / tick

    def worker_peak_mb(self) -> dict[int, float]:
        """Each live worker's peak resident memory so far (VmHWM), by pid."""
        peaks = {}
        for child in Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split():
            try:
                status = Path(f"/proc/{child}/status").read_text()
            except FileNotFoundError:
                continue
            line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
            peaks[int(child)] = int(line.split()[1]) / 1024
        return peaks

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


def check_invariants(db: Database, label: str, answered_200: int, scans_before: int, in_flight: int) -> int:
    """Scans match 200 answers, no coupon twice, every wallet adds up. Returns the scan count."""
    time.sleep(0.5)  # let the requests wrk abandoned finish on the server
    with db.snapshot() as tx:  # one snapshot for every count below
        scans = tx.scalar("SELECT count(*) FROM scans")
        twice = tx.scalar("SELECT count(*) - count(DISTINCT coupon_id) FROM scans")
        redeemed = tx.scalar("SELECT count(*) FROM coupons WHERE status = 'redeemed'")
        wrong_wallets = tx.scalar(
            """SELECT count(*) FROM users u LEFT JOIN (SELECT user_id, sum(points) p, count(*) n FROM ledger_entries GROUP BY user_id) l
               ON l.user_id = u.id WHERE u.balance <> coalesce(l.p, 0) OR u.scans <> coalesce(l.n, 0)"""
        )
    new = scans - scans_before
    # wrk stops on the clock and drops the replies still in flight (at most one per
    # connection); the server may have committed those.
    problems = []
    if not answered_200 <= new <= answered_200 + in_flight:
        problems.append(f"{new} new scans for {answered_200} answers of 200 (up to {in_flight} in flight)")
    if twice:
        problems.append(f"{twice} coupons scanned twice")
    if redeemed != scans:
        problems.append(f"{redeemed} coupons redeemed but {scans} scans")
    if wrong_wallets:
        problems.append(f"{wrong_wallets} wallets do not add up")
    if problems:
        raise InvariantBroken(f"INVARIANT BROKEN after {label}: " + "; ".join(problems))
    print(f"  invariants hold after {label}: {new} new scans, {answered_200} answered 200", file=sys.stderr)
    return scans


def add_row(
    name: str,
    figures: dict,
    ceiling_name: str,
    ceiling_rate: float,
    ok_statuses: set[str],
    target: str = "",
    holds: bool | None = None,
) -> dict:
    statuses = figures["statuses"]
    errors = figures["socket_errors"] + sum(n for s, n in statuses.items() if s not in ok_statuses)
    row = {
        "name": name,
        "rps": figures["rps"],
        "p50_ms": figures["p50_us"] / 1000,
        "p99_ms": figures["p99_us"] / 1000,
        "errors": errors,
        "cpu_us": figures.get("cpu_us"),
        "statuses": statuses,
        "ratio": figures["rps"] / ceiling_rate if ceiling_rate else None,
        "ceiling": ceiling_name,
        "target": target,
        "holds": holds,
    }
    rows.append(row)
    print(
        f"  {name}: {row['rps']:.0f}/s (runs {figures.get('runs')}) p50 {row['p50_ms']:.1f} ms p99 {row['p99_ms']:.1f} ms statuses {statuses}",
        file=sys.stderr,
    )
    return row


def sqlite_database(path: Path) -> Database:
    """A migrated SQLite database at `path`, made anew."""
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    backend = SqliteBackend(str(path), 5000)
    init_db(backend)
    return Database(backend)


def add_bare_row(name: str, figures: dict, ceiling: dict, ceiling_name: str) -> None:
    rows.append(
        {
            "name": name,
            "rps": figures["rate"],
            "p50_ms": figures["p50_ms"],
            "p99_ms": figures["p99_ms"],
            "errors": 0,
            "statuses": {},
            "ratio": figures["rate"] / ceiling["rate"],
            "cpu_us": figures["cpu_us"],
            "ceiling": ceiling_name,
            "target": "",
            "holds": None,
        }
    )
    print(f"  {name}: {figures['rate']:.0f}/s p50 {figures['p50_ms']:.2f} ms", file=sys.stderr)
