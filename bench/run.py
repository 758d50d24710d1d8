"""make bench: every figure in one run on one machine, as one table.

Ceilings first (the bare redemption transaction; a trivial JSON route on the same gunicorn
configuration), then the service under wrk load, each load followed by an invariant check
that stops the run if the data is wrong; the operators' reads at a million coupons; then the
same on PostgreSQL (its bare transaction, /scan on one and on two gunicorn instances, the
operators' reads); print-batch; /scan before and after the operators' issue; the filtered lists
against the unfiltered page on both engines (bench/lists.py). Writes bench/RESULTS.md.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import lists, operators, points  # noqa: E402
from bench.ceilings import raw_insert_seconds, redemption_rate  # noqa: E402
from bench.harness import (  # noqa: E402
    BIN,
    CONNECTIONS,
    MILLION,
    OUT,
    PORT,
    SECONDS,
    SERVER,
    WRK_THREADS,
    InvariantBroken,
    Server,
    add_bare_row,
    add_row,
    check_invariants,
    commands,
    measure,
    need_wrk,
    rows,
    sqlite_database,
)
from bench.postgres import BenchPostgres  # noqa: E402
from bench.seed import add_users, give_ledger, new_coupons, write_lines  # noqa: E402
from rewards.db import Database  # noqa: E402
from rewards.db.sqlite import SqliteBackend  # noqa: E402


def main() -> None:
    need_wrk()
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    started = time.time()

    print("ceiling (a): the redemption transaction alone", file=sys.stderr)
    bare = redemption_rate(lambda: sqlite_database(OUT / "bare.db"), SECONDS)
    bare_per_conn = redemption_rate(lambda: sqlite_database(OUT / "bare-conn.db"), SECONDS, per_connection=True)
    for name, figures in [
        ("bare redemption txn, kept connection, synchronous=FULL (ceiling a)", bare),
        ("bare redemption txn, connection per txn, FULL", bare_per_conn),
    ]:
        add_bare_row(name, figures, bare, "a")

    db = sqlite_database(OUT / "bench.db")
    many = add_users(db, 200, prefix=200)
    (one_user,) = add_users(db, 1, prefix=300)
    (big_user,) = add_users(db, 1, prefix=301)
    (small_user,) = add_users(db, 1, prefix=302)
    print("seeding a ledger of 100,000 rows", file=sys.stderr)
    give_ledger(db, big_user[0], 100_000)
    give_ledger(db, small_user[0], 10)
    scan_coupons = {
        name: new_coupons(db, 80_000) for name in ("many", "one-fresh", "one-big-1", "one-big-2", "one-big-3")
    }
    hot_coupons = new_coupons(db, 50)
    (page_coupon,) = new_coupons(db, 1)
    users_many = write_lines(OUT / "users-many.txt", [t for _, t in many])
    user_one = write_lines(OUT / "user-one.txt", [one_user[1]])
    user_big = write_lines(OUT / "user-big.txt", [big_user[1]])
    files = {name: write_lines(OUT / f"coupons-{name}.txt", tokens) for name, tokens in scan_coupons.items()}
    hot = write_lines(OUT / "coupons-hot.txt", hot_coupons)
    scans_so_far = [db.read("SELECT count(*) FROM scans")[0]]

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

    server = Server(f"sqlite:///{OUT / 'bench.db'}", "sqlite:///bench/out/bench.db")
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
        sqlite_scan = None
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
            sqlite_scan = sqlite_scan or figures

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

        # What a phone's camera opens: the coupon's page, signed out, with its template and
        # its catalogue lookups (the page's own weight is measured by the browser tests).
        page = measure("get.lua", f"/c/{page_coupon}")
        add_row(
            "GET /c/<token>, the coupon page a printed code opens",
            page,
            "b",
            trivial["rps"],
            {"200"},
            "p99 ≤2× trivial route's",
            page["p99_us"] <= 2 * trivial["p99_us"],
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
        SERVER.clear()
        db.close()

    print("operators' reads on SQLite", file=sys.stderr)
    ops_db = sqlite_database(OUT / "operators.db")
    try:
        operators.operator_rows(
            "SQLite", f"sqlite:///{OUT / 'operators.db'}", "sqlite:///bench/out/operators.db", ops_db, PORT + 20
        )
    finally:
        ops_db.close()
    print("points on SQLite: idempotent /scan, replays, mixed wallets", file=sys.stderr)
    points_db = sqlite_database(OUT / "points.db")
    try:
        points.points_rows(
            "SQLite", f"sqlite:///{OUT / 'points.db'}", "sqlite:///bench/out/points.db", points_db, PORT + 30
        )
    finally:
        points_db.close()

    postgres_rows(sqlite_scan)

    print("print-batch at 1,000 and 10,000 coupons", file=sys.stderr)
    operators.print_batch_rows()
    print(f"/scan before issue #9 ({operators.BEFORE}) and now", file=sys.stderr)
    operators.scan_before_and_after()

    print(f"gen-coupons --count {MILLION} against a raw executemany", file=sys.stderr)
    gen_db = OUT / "gen.db"
    sqlite_database(gen_db).close()
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
    sqlite_database(OUT / "raw.db").close()
    raw = raw_insert_seconds(str(OUT / "raw.db"), MILLION)
    gen_database = Database(SqliteBackend(str(gen_db), 5000))
    stored = gen_database.read("SELECT count(*) FROM coupons")[0]
    gen_database.close()
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

    print("filtered lists against the unfiltered page, SQLite and PostgreSQL", file=sys.stderr)
    lists_table = lists.lists_section()

    report = render(bare, trivial, gen, time.time() - started) + "\n" + lists_table
    analysis = ROOT / "bench" / "ANALYSIS.md"
    if analysis.exists():
        report += "\n" + analysis.read_text()
    (ROOT / "bench" / "RESULTS.md").write_text(report)
    print(report)


PG_VERSION = [""]


def postgres_rows(sqlite_scan: dict) -> None:
    """The redemption on PostgreSQL: its bare transaction (ceiling c), then /scan on one and on
    two gunicorn instances (hosts) on one database, each against ceiling c and SQLite's /scan."""
    postgres = BenchPostgres()
    try:
        PG_VERSION[0] = postgres.version()
        print(f"PostgreSQL {PG_VERSION[0]}: ceiling (c), the redemption transaction alone", file=sys.stderr)
        bare = redemption_rate(lambda: postgres.database(postgres.fresh("rewards_bare")), SECONDS)
        add_bare_row("PostgreSQL: bare redemption txn, kept connection (ceiling c)", bare, bare, "c")
        rows[-1]["ratio"] = None
        url = postgres.fresh("rewards_bench")
        db = postgres.database(url)
        users = write_lines(OUT / "pg-users.txt", [t for _, t in add_users(db, 200, prefix=400)])
        coupons = {n: write_lines(OUT / f"pg-coupons-{n}.txt", new_coupons(db, 80_000)) for n in (1, 2)}
        scans_so_far = [0]

        def checked(figures: dict, label: str) -> None:
            answered = figures["statuses"].get("200", 0)
            scans_so_far[0] = check_invariants(db, label, answered, scans_so_far[0], CONNECTIONS)

        for hosts in (1, 2):
            # Two instances on one box split its cores, as two hosts would each have their own:
            # each gets half the workers gunicorn.conf.py would give it (cores / 2 + 1).
            extra = {} if hosts == 1 else {"WEB_CONCURRENCY": str((os.cpu_count() or 2) // hosts + 1)}
            servers = [Server(url, postgres.shown(url), PORT + 1 + i, **extra) for i in range(hosts)]
            SERVER[:] = servers
            try:
                name = f"PostgreSQL: POST /scan distinct, 200 users, {hosts} gunicorn instance{'s' * (hosts > 1)}"
                figures = measure(
                    "scan.lua",
                    ports=[s.port for s in servers],
                    after=lambda f, name=name: checked(f, name),
                    distinct=True,
                    BENCH_COUPONS=str(coupons[hosts]),
                    BENCH_USERS=str(users),
                )
                row = add_row(
                    name, figures, "c", bare["rate"], {"200"}, "≥0.6 of ceiling c", figures["rps"] >= 0.6 * bare["rate"]
                )
                row["vs_sqlite"] = figures["rps"] / sqlite_scan["rps"]
            finally:
                for server in servers:
                    server.stop()
                SERVER.clear()
        db.close()
        url = postgres.fresh("rewards_operators")
        ops_db = postgres.database(url)
        try:
            operators.operator_rows(
                "PostgreSQL", url, postgres.shown(url), ops_db, PORT + 21, lambda url=url: postgres.analyze(url)
            )
        finally:
            ops_db.close()
        url = postgres.fresh("rewards_points")
        points_db = postgres.database(url)
        try:
            points.points_rows(
                "PostgreSQL", url, postgres.shown(url), points_db, PORT + 31, lambda url=url: postgres.analyze(url)
            )
        finally:
            points_db.close()
    finally:
        postgres.stop()


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
        "- server: gunicorn with gunicorn.conf.py as shipped (its worker count and sync workers); SQLite in WAL with "
        f"synchronous=FULL; PostgreSQL {PG_VERSION[0]} (pgserver's bundled build, default settings: fsync and "
        "synchronous_commit on) on the same machine, over its Unix socket. With two gunicorn instances, one wrk per "
        "instance (1 thread, 16 connections each). **PostgreSQL shares the same 2 cores too.**",
        "",
        "| load | req/s | p50 ms | p99 ms | errors | server CPU µs/req | statuses | ratio to ceiling | ratio to SQLite /scan | target | holds |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---|---|",
    ]
    for row in rows:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(row["statuses"].items()))
        ratio = row.get("ratio_text") or (f"{row['ratio']:.2f} of {row['ceiling']}" if row["ratio"] is not None else "")
        cpu = f"{row['cpu_us']:.0f}" if row.get("cpu_us") else ""
        vs_sqlite = f"{row['vs_sqlite']:.2f}" if row.get("vs_sqlite") else ""
        lines.append(
            f"| {row['name']} | {row['rps']:.0f} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {row['errors']} | {cpu} | "
            f"{statuses} | {ratio} | {vs_sqlite} | {row['target']} | {mark(row['holds'])} |"
        )
    lines += [
        "",
        "| gen-coupons | seconds | peak memory | ratio to raw insert | target | holds |",
        "|---|---:|---:|---:|---|---|",
        f"| raw executemany of {MILLION:,} ready-made tokens (ceiling) | {gen['raw']:.2f} | | 1.00 | | |",
        f"| flask gen-coupons --count {MILLION:,} --output FILE | {gen['seconds']:.2f} | {gen['peak_mb']:.0f} MB | "
        f"{gen['ratio']:.2f} | ≤1.3× time, ≤200 MB | {mark(gen['holds'])} |",
        *operators.render(),
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
