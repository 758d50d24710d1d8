"""make bench: every figure of issue 4 in one run on one machine, as one table.

Ceilings first (the bare redemption transaction; a trivial JSON route on the same gunicorn
configuration), then the service under wrk load, each load followed by an invariant check
that stops the run if the data is wrong. Writes bench/RESULTS.md.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ceilings import raw_insert_seconds, redemption_rate  # noqa: E402
from bench.seed import add_users, give_ledger, new_coupons, open_database, write_lines  # noqa: E402
from rewards.db import init_schema  # noqa: E402

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
    script: str, path: str = "/", *, threads: int = WRK_THREADS, connections: int = CONNECTIONS, **env: str
) -> dict:
    command = [
        need_wrk(),
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{SECONDS}s",
        "-s",
        str(LUA / script),
        f"http://127.0.0.1:{PORT}{path}",
    ]
    shown = " ".join(f"{k}={v if len(str(v)) < 40 else '...'}" for k, v in env.items() if k != "BENCH_RUN")
    shown_command = f"{shown} {' '.join(command[:-1])} http://127.0.0.1:{PORT}{path}".replace(str(ROOT) + "/", "")
    if shown_command not in commands:
        commands.append(shown_command)
    full_env = {**os.environ, "BENCH_LUA": str(LUA), "BENCH_THREADS": str(threads), "BENCH_PATH": path, **env}
    cpu_before = SERVER[0].cpu_seconds() if SERVER else 0.0
    result = subprocess.run(command, env=full_env, capture_output=True, text=True, timeout=SECONDS + 60)
    cpu_used = (SERVER[0].cpu_seconds() - cpu_before) if SERVER else 0.0
    line = next((text for text in result.stdout.splitlines() if text.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no result:\n{result.stdout}\n{result.stderr}")
    figures = json.loads(line.removeprefix("BENCH "))
    figures["rps"] = figures["requests"] / figures["seconds"]
    # CPU the server (master and workers) spent per request: where the cores go.
    figures["cpu_us"] = cpu_used / max(1, figures["requests"]) * 1e6
    return figures


SERVER: list = []  # the running Server, for wrk() to read its CPU time


class Server:
    def __init__(self, db: Path) -> None:
        self.db = db
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{db}",
            "OTP_DELIVERY": "response",
            "SCAN_RATE_LIMIT": "1000000000 per minute",
            "OTP_SEND_LIMIT": "1000000000",
            "PORT": str(PORT),
        }
        commands.append(
            f"DATABASE_URL=sqlite:///bench/out/bench.db OTP_DELIVERY=response SCAN_RATE_LIMIT='1000000000 per minute' "
            f"OTP_SEND_LIMIT=1000000000 PORT={PORT} .venv/bin/gunicorn app:app   # gunicorn.conf.py: its workers, sync"
        )
        self.log = (OUT / "gunicorn.log").open("wb")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "app:app"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=1) as reply:
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

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


def check_invariants(db_path: Path, label: str, answered_200: int, scans_before: int, in_flight: int) -> int:
    """Scans match 200 answers, no coupon twice, every wallet adds up. Returns the scan count."""
    time.sleep(0.5)  # let the requests wrk abandoned finish on the server
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("BEGIN")  # one snapshot for every count below
        scans = conn.execute("SELECT count(*) FROM scans").fetchone()[0]
        twice = conn.execute("SELECT count(*) - count(DISTINCT coupon_id) FROM scans").fetchone()[0]
        redeemed = conn.execute("SELECT count(*) FROM coupons WHERE status = 'redeemed'").fetchone()[0]
        wrong_wallets = conn.execute(
            """SELECT count(*) FROM users u LEFT JOIN (SELECT user_id, sum(points) p, count(*) n FROM ledger_entries GROUP BY user_id) l
               ON l.user_id = u.id WHERE u.balance <> coalesce(l.p, 0) OR u.scans <> coalesce(l.n, 0)"""
        ).fetchone()[0]
    finally:
        conn.close()
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


def main() -> None:
    need_wrk()
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    started = time.time()

    print("ceiling (a): the redemption transaction alone", file=sys.stderr)
    bare = redemption_rate(OUT / "bare.db", SECONDS)
    bare_per_conn = redemption_rate(OUT / "bare-conn.db", SECONDS, per_connection=True)
    bare_normal = redemption_rate(OUT / "bare-normal.db", SECONDS, synchronous="NORMAL")
    for name, figures in [
        ("bare redemption txn, kept connection, synchronous=FULL (ceiling a)", bare),
        ("bare redemption txn, connection per txn, FULL", bare_per_conn),
        ("bare redemption txn, kept connection, synchronous=NORMAL", bare_normal),
    ]:
        rows.append(
            {
                "name": name,
                "rps": figures["rate"],
                "p50_ms": figures["p50_ms"],
                "p99_ms": figures["p99_ms"],
                "errors": 0,
                "statuses": {},
                "ratio": figures["rate"] / bare["rate"],
                "cpu_us": figures["cpu_us"],
                "ceiling": "a",
                "target": "",
                "holds": None,
            }
        )
        print(f"  {name}: {figures['rate']:.0f}/s", file=sys.stderr)

    db = OUT / "bench.db"
    init_schema(str(db))
    conn = open_database(db)
    many = add_users(conn, 200, prefix=200)
    (one_user,) = add_users(conn, 1, prefix=300)
    (big_user,) = add_users(conn, 1, prefix=301)
    (small_user,) = add_users(conn, 1, prefix=302)
    print("seeding a ledger of 100,000 rows", file=sys.stderr)
    give_ledger(conn, big_user[0], 100_000)
    give_ledger(conn, small_user[0], 10)
    scan_coupons = {
        name: new_coupons(conn, 80_000) for name in ("many", "one-fresh", "one-big-1", "one-big-2", "one-big-3")
    }
    hot_coupons = new_coupons(conn, 50)
    conn.close()
    users_many = write_lines(OUT / "users-many.txt", [t for _, t in many])
    user_one = write_lines(OUT / "user-one.txt", [one_user[1]])
    user_big = write_lines(OUT / "user-big.txt", [big_user[1]])
    files = {name: write_lines(OUT / f"coupons-{name}.txt", tokens) for name, tokens in scan_coupons.items()}
    hot = write_lines(OUT / "coupons-hot.txt", hot_coupons)
    with sqlite3.connect(db) as c:
        scans_so_far = [c.execute("SELECT count(*) FROM scans").fetchone()[0]]

    hot_answered = [0]

    def checked(figures: dict, label: str) -> None:
        answered = figures["statuses"].get("200", 0)
        scans_so_far[0] = check_invariants(db, label, answered, scans_so_far[0], CONNECTIONS)

    def checked_hot(figures: dict) -> None:
        # Over all the repeats together, each hot coupon answers 200 once at most.
        hot_answered[0] += figures["statuses"].get("200", 0)
        if hot_answered[0] > len(hot_coupons):
            raise InvariantBroken(f"INVARIANT BROKEN: {hot_answered[0]} answers of 200 for {len(hot_coupons)} coupons")
        checked(figures, "contention")

    server = Server(db)
    SERVER.append(server)
    try:
        print("ceiling (b): a trivial JSON route on the same gunicorn", file=sys.stderr)
        trivial = measure("get.lua", "/version")
        add_row("GET /version, trivial JSON route (ceiling b)", trivial, "b", trivial["rps"], {"200"})
        lower = min(trivial["rps"], bare["rate"])
        lower_name = "b" if trivial["rps"] <= bare["rate"] else "a"

        loads = [
            ("POST /scan distinct, 200 users", files["many"], users_many),
            ("POST /scan distinct, one user, fresh ledger", files["one-fresh"], user_one),
            ("POST /scan distinct, one user at 100,000+ rows, round 1", files["one-big-1"], user_big),
            ("POST /scan distinct, one user at 100,000+ rows, round 2", files["one-big-2"], user_big),
            ("POST /scan distinct, one user at 100,000+ rows, round 3", files["one-big-3"], user_big),
        ]
        for name, coupons, users in loads:
            figures = measure(
                "scan.lua",
                after=lambda f, name=name: checked(f, name),
                distinct=True,
                BENCH_COUPONS=str(coupons),
                BENCH_USERS=str(users),
            )
            holds = figures["rps"] >= 0.75 * lower and figures["p99_us"] <= 2 * trivial["p99_us"]
            add_row(name, figures, lower_name, lower, {"200"}, "≥0.75 of lower ceiling, p99 ≤2× trivial", holds)

        figures = measure("scan.lua", after=checked_hot, BENCH_COUPONS=str(hot), BENCH_USERS=str(users_many))
        add_row(
            "POST /scan contention, 50 coupons (one 200 each, rest 409)", figures, lower_name, lower, {"200", "409"}
        )

        small = measure("get.lua", "/users/me/wallet", BENCH_BEARER=small_user[1])
        add_row("GET /users/me/wallet, 10 rows", small, "b", trivial["rps"], {"200"})
        big = measure("get.lua", "/users/me/wallet", BENCH_BEARER=big_user[1])
        add_row(
            "GET /users/me/wallet, 100,000+ rows",
            big,
            "b",
            trivial["rps"],
            {"200"},
            "p99 ≤1.5× wallet at 10 rows",
            big["p99_us"] <= 1.5 * small["p99_us"],
        )

        login = measure("login.lua", threads=16, connections=16)
        pairs = login["statuses"].get("verify 200", 0)
        login_pairs = {**login, "rps": pairs / login["seconds"]}
        add_row(
            "POST /auth/otp + POST /auth/verify, per pair",
            login_pairs,
            "b",
            trivial["rps"],
            {"otp 200", "verify 200"},
            "≥0.4 of trivial route",
            pairs / login["seconds"] >= 0.4 * trivial["rps"],
        )
    finally:
        server.stop()

    print(f"gen-coupons --count {MILLION} against a raw executemany", file=sys.stderr)
    gen_db = OUT / "gen.db"
    init_schema(str(gen_db))
    command = [
        str(BIN / "flask"),
        "--app",
        "app",
        "gen-coupons",
        "--count",
        str(MILLION),
        "--output",
        str(OUT / "million.csv"),
    ]
    commands.append(
        f"DATABASE_URL=sqlite:///bench/out/gen.db .venv/bin/flask --app app gen-coupons --count {MILLION} --output bench/out/million.csv"
    )
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "peak.py"), *command],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{gen_db}"},
        capture_output=True,
        text=True,
    )
    figures = json.loads(result.stdout)
    if figures["exit"] != 0:
        raise SystemExit("gen-coupons failed")
    gen_seconds, peak_mb = figures["seconds"], figures["peak_mb"]
    raw = raw_insert_seconds(OUT / "raw.db", MILLION)
    with sqlite3.connect(gen_db) as c:
        stored = c.execute("SELECT count(*) FROM coupons").fetchone()[0]
    if stored != MILLION:
        raise InvariantBroken(f"INVARIANT BROKEN: gen-coupons stored {stored} of {MILLION}")
    gen = {
        "raw": raw,
        "seconds": gen_seconds,
        "peak_mb": peak_mb,
        "ratio": gen_seconds / raw,
        "holds": gen_seconds <= 1.3 * raw and peak_mb <= 200,
    }
    print(
        f"  raw insert {raw:.2f}s, gen-coupons {gen_seconds:.2f}s ({gen['ratio']:.2f}x), peak {peak_mb:.0f} MB",
        file=sys.stderr,
    )

    report = render(bare, trivial, gen, time.time() - started)
    analysis = ROOT / "bench" / "ANALYSIS.md"
    if analysis.exists():
        report += "\n" + analysis.read_text()
    (ROOT / "bench" / "RESULTS.md").write_text(report)
    print(report)


def render(bare: dict, trivial: dict, gen: dict, took: float) -> str:
    def mark(holds):
        return "" if holds is None else ("yes" if holds else "**no**")

    lines = [
        "# Bench results",
        "",
        f"- date: {datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')}; whole run {took:.0f} s",
        f"- machine: {os.cpu_count()} cores ({platform.machine()}), Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}",
        f"- load: wrk, {WRK_THREADS} threads, {CONNECTIONS} connections, {SECONDS} s per row, 127.0.0.1. **wrk shares the "
        f"{os.cpu_count()} cores with gunicorn**, so every HTTP figure is lower than the server alone could do, and the ratios "
        "compare like with like.",
        "- server: gunicorn with gunicorn.conf.py as shipped (its worker count and sync workers); WAL, synchronous=FULL.",
        "",
        "| load | req/s | p50 ms | p99 ms | errors | server CPU µs/req | statuses | ratio to ceiling | target | holds |",
        "|---|---:|---:|---:|---:|---:|---|---:|---|---|",
    ]
    for row in rows:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(row["statuses"].items()))
        ratio = f"{row['ratio']:.2f} of {row['ceiling']}" if row["ratio"] is not None else ""
        cpu = f"{row['cpu_us']:.0f}" if row.get("cpu_us") else ""
        lines.append(
            f"| {row['name']} | {row['rps']:.0f} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {row['errors']} | {cpu} | "
            f"{statuses} | {ratio} | {row['target']} | {mark(row['holds'])} |"
        )
    lines += [
        "",
        "| gen-coupons | seconds | peak memory | ratio to raw insert | target | holds |",
        "|---|---:|---:|---:|---|---|",
        f"| raw executemany of {MILLION:,} ready-made tokens (ceiling) | {gen['raw']:.2f} | | 1.00 | | |",
        f"| flask gen-coupons --count {MILLION:,} --output FILE | {gen['seconds']:.2f} | {gen['peak_mb']:.0f} MB | "
        f"{gen['ratio']:.2f} | ≤1.3× time, ≤200 MB | {mark(gen['holds'])} |",
        "",
        "After every scan load the run checked: new scans equal the 200 answers (plus at most one reply per connection "
        "that wrk dropped in flight when its clock ran out), no coupon scanned twice, redeemed coupons equal scans, and "
        "every balance and scan count equal its ledger. A broken invariant stops the run with a non-zero exit.",
        "",
        "Commands (from the repository root; `make bench` runs them all):",
        "",
        "```",
        *commands,
        "```",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
