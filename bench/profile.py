"""make profile: what one request of each hot route costs, in one process (issue #17).

Flask's test client drives the app in this process against a real SQLite file (and a real
PostgreSQL server with --postgres: BENCH_DATABASE_URL, or one started with pgserver), so the
figures are the service's own CPU with no HTTP server or load generator in them:

- CPU µs per request: time.process_time over N requests, the median of several rounds;
- its ratio to GET /version's, measured in the same run (the targets are ratios);
- SQL statements per request (and, on PostgreSQL, round trips, BEGIN and COMMIT included),
  counted by the database layer (Database.counting) in a separate pass, so counting costs
  the timed rounds nothing.

`--profile ROUTE` prints the top of a cProfile of that route (in CPU time) instead. The machine
is shared: CPU time and statement counts are what other load disturbs least; read ratios, not µs.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder comes first on sys.path, and this file would hide the
# standard library's `profile`, which cProfile imports. The repository root instead.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(ROOT)

import argparse  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import itertools  # noqa: E402
import pstats  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from typing import Any  # noqa: E402

from bench.seed import add_users, give_ledger, new_coupons  # noqa: E402
from rewards import create_app  # noqa: E402
from rewards.db import Database  # noqa: E402
from rewards.db.migrate import init_db  # noqa: E402
from rewards.db.sqlite import SqliteBackend  # noqa: E402

ROUTES = ("version", "scan", "keyed-scan", "wallet", "otp-pair")
# --floor: what any OTP pair costs before its own work, in this measure (bench/RESULTS.md).
FLOOR = ("floor-pair", "floor-pair-committed")
TARGETS = {"scan": 2.0, "wallet": 1.5, "otp-pair": 3.0}
NO_LIMITS = {
    "OTP_DELIVERY": "response",
    "SCAN_RATE_LIMIT": "1000000000 per minute",
    "OTP_SEND_LIMIT": "1000000000",
    "AUTH_IP_RATE_LIMIT": "1000000000 per hour",
}

Request = Callable[[], None]


class Fixture:
    """An app on `url` with users, coupons and a 10-row wallet, and one request per route."""

    def __init__(self, url: str, coupons: int, *, floor: bool = False) -> None:
        self.app = create_app({"DATABASE_URL": url, **NO_LIMITS})
        if floor:
            add_floor_routes(self.app)
        self.client = self.app.test_client()
        self.db: Database = self.app.extensions["rewards.db"]
        users = add_users(self.db, 200, prefix=200)
        (wallet_user,) = add_users(self.db, 1, prefix=301)
        give_ledger(self.db, wallet_user[0], 10)
        self.users = itertools.cycle([{"Authorization": f"Bearer {token}"} for _, token in users])
        self.wallet_headers = {"Authorization": f"Bearer {wallet_user[1]}"}
        self.coupons = iter(new_coupons(self.db, coupons))
        self.keys = itertools.count(1)
        self.phones = itertools.count(1)

    def request(self, route: str) -> Request:
        return getattr(self, route.replace("-", "_"))

    def _ok(self, response: Any, what: str) -> Any:
        if response.status_code != 200:
            raise SystemExit(f"{what}: {response.status_code} {response.get_data(as_text=True)[:300]}")
        return response

    def version(self) -> None:
        self._ok(self.client.get("/version"), "GET /version")

    def scan(self) -> None:
        self._ok(self.client.post("/scan", json={"token": next(self.coupons)}, headers=next(self.users)), "POST /scan")

    def keyed_scan(self) -> None:
        headers = {**next(self.users), "Idempotency-Key": f"profile-{next(self.keys)}"}
        self._ok(self.client.post("/scan", json={"token": next(self.coupons)}, headers=headers), "keyed POST /scan")

    def wallet(self) -> None:
        self._ok(self.client.get("/users/me/wallet", headers=self.wallet_headers), "GET /users/me/wallet")

    def otp_pair(self) -> None:
        # A new phone each pair, as bench/lua/login.lua does: each verify makes its user.
        phone = f"+1555{next(self.phones):07d}"
        sent = self._ok(self.client.post("/auth/otp", json={"phone": phone}), "POST /auth/otp").get_json()
        self._ok(self.client.post("/auth/verify", json={"phone": phone, "otp": sent["otp"]}), "POST /auth/verify")

    def floor_pair(self, path: str = "/bench/floor") -> None:
        # The pair's two requests, bodies and answers of the same size, and nothing else.
        phone = f"+1666{next(self.phones):07d}"
        self._ok(self.client.post(path, json={"phone": phone}), path)
        self._ok(self.client.post(path, json={"phone": phone, "otp": "123456"}), path)

    def floor_pair_committed(self) -> None:
        self.floor_pair("/bench/floor-committed")


_FLOOR_WRITE = "INSERT INTO rate_limits (key, window_start, hits) VALUES (?, 0, 1) ON CONFLICT (key) DO NOTHING"


def add_floor_routes(app: Any) -> None:
    """Two views for --floor: a JSON body read and answered; and the same with one write
    transaction of one statement, committed as durably as every write (synchronous=FULL)."""
    from rewards.db import get_db
    from rewards.http import validation

    def answered() -> dict[str, Any]:
        body = validation.json_body()
        return {"status": "sent", "expires_in": 300, "otp": "123456", "phone": body["phone"]}

    def committed() -> dict[str, Any]:
        body = validation.json_body()
        with get_db().write() as tx:
            tx.execute(_FLOOR_WRITE, (f"bench-floor:{body['phone']}:{len(body)}",))
        return {"status": "sent", "expires_in": 300, "otp": "123456", "phone": body["phone"]}

    app.add_url_rule("/bench/floor", "bench_floor", answered, methods=["POST"])
    app.add_url_rule("/bench/floor-committed", "bench_floor_committed", committed, methods=["POST"])


def cpu_us(requests: dict[str, Request], count: int, rounds: int) -> dict[str, list[float]]:
    """CPU µs per request of each route, one figure per round. The routes take turns within
    each round, so load that other work puts on the shared cores falls on all of them alike."""
    for request in requests.values():
        for _ in range(max(5, count // 10)):  # warm: statement caches, prepared statements
            request()
    per_round: dict[str, list[float]] = {route: [] for route in requests}
    for _ in range(rounds):
        for route, request in requests.items():
            started = time.process_time()
            for _ in range(count):
                request()
            per_round[route].append((time.process_time() - started) / count * 1e6)
    return per_round


def counted(db: Database, request: Request, count: int = 20) -> tuple[float, float, float | None]:
    """Statements, statements run by triggers, and round trips per request."""
    with db.counting() as counts:
        for _ in range(count):
            request()
    trips = None if counts.round_trips is None else counts.round_trips / count
    return counts.statements / count, counts.in_triggers / count, trips


def measure(fixture: Fixture, count: int, rounds: int, routes: tuple[str, ...] = ROUTES) -> list[dict[str, Any]]:
    requests = {route: fixture.request(route) for route in routes}
    per_round = cpu_us(requests, count, rounds)
    base = per_round["version"]
    rows = []
    for route, request in requests.items():
        figures = per_round[route]
        statements, in_triggers, trips = counted(fixture.db, request)
        rows.append(
            {"route": route, "cpu": statistics.median(figures), "low": min(figures), "high": max(figures)}
            # The ratio of each round to /version's in the same round, then their median.
            | {"ratio": statistics.median(f / b for f, b in zip(figures, base, strict=True))}
            | {"statements": statements, "in_triggers": in_triggers, "round_trips": trips}
        )
    return rows


def table(engine: str, rows: list[dict[str, Any]]) -> str:
    lines = [
        f"| {engine} | CPU µs/request (median; range of rounds) | ratio to /version (median of rounds) | target | holds "
        "| SQL statements/request (+ run by triggers) | round trips/request |",
        "|---|---:|---:|---|---|---:|---:|",
    ]
    names = {
        "version": "GET /version",
        "scan": "POST /scan, distinct coupons, 200 users",
        "keyed-scan": "POST /scan with a new Idempotency-Key",
        "wallet": "GET /users/me/wallet, 10 rows",
        "otp-pair": "POST /auth/otp + POST /auth/verify (a pair)",
        "floor-pair": "floor: two POSTs that only read their JSON bodies and answer",
        "floor-pair-committed": "floor: the same, each with one committed write (BEGIN, 1 statement, COMMIT)",
    }
    for row in rows:
        target = TARGETS.get(row["route"])
        holds = "" if target is None else ("yes" if row["ratio"] <= target else "**no**")
        triggers = f" (+{row['in_triggers']:.0f})" if row["in_triggers"] else ""
        trips = "" if row["round_trips"] is None else f"{row['round_trips']:.1f}"
        lines.append(
            f"| {names[row['route']]} | {row['cpu']:,.0f} ({row['low']:,.0f}-{row['high']:,.0f}) | {row['ratio']:.2f}× "
            f"| {'' if target is None else f'≤{target:g}×'} | {holds} | {row['statements']:.1f}{triggers} | {trips} |"
        )
    return "\n".join(lines)


def profile(fixture: Fixture, route: str, count: int, top: int) -> str:
    request = fixture.request(route)
    for _ in range(20):
        request()
    # CPU time, as the table's: a wall-clock profile shows the commit's wait for the disk.
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(count):
        request()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def sqlite_url(directory: Path) -> str:
    path = directory / "profile.db"
    path.touch()
    init_db(SqliteBackend(str(path), 5000))
    return f"sqlite:///{path}"


def engines(postgres: bool, directory: Path) -> Iterator[tuple[str, str]]:
    yield "SQLite", sqlite_url(directory)
    if postgres:
        from bench.postgres import BenchPostgres

        server = BenchPostgres()
        try:
            yield "PostgreSQL", server.fresh("rewards_profile")
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL too (BENCH_DATABASE_URL or pgserver)")
    parser.add_argument("--requests", type=int, default=300, help="requests per round (default 300)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per route; the median is shown (default 5)")
    parser.add_argument("--profile", choices=ROUTES, help="print the top of a cProfile of this route instead")
    parser.add_argument("--top", type=int, default=30, help="functions shown by --profile (default 30)")
    parser.add_argument(
        "--floor", action="store_true", help="two more rows: what any OTP pair costs before its own work"
    )
    args = parser.parse_args()
    # Every route's coupons, warm-ups and counting passes included, with room to spare.
    coupons = (args.requests * (args.rounds + 1) + 100) * 2
    with tempfile.TemporaryDirectory(prefix="rewards-profile-") as tmp:
        for engine, url in engines(args.postgres, Path(tmp)):
            fixture = Fixture(url, coupons, floor=args.floor)
            if args.profile:
                print(f"## {engine}: {args.profile}, {args.requests} requests\n")
                print(profile(fixture, args.profile, args.requests, args.top))
            else:
                routes = ROUTES + FLOOR if args.floor else ROUTES
                print(table(engine, measure(fixture, args.requests, args.rounds, routes)) + "\n")
            fixture.db.close()


if __name__ == "__main__":
    main()
