"""make bench, the points' rows (issue #10): /scan with an Idempotency-Key against /scan
without one, a replayed /scan against a first one, and the wallet at 100,000 mixed ledger rows
against the wallet at 10, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

from bench.harness import OUT, SERVER, InvariantBroken, Server, add_row, measure
from bench.seed import NO_LIMIT, add_users, new_coupons, write_lines
from rewards.db import Database
from rewards.ledger.service import adjust
from rewards.payouts.service import approve, reject, request_payout
from rewards.redemption.reversal import reverse_scan
from rewards.redemption.service import redeem_coupon

MIXED_ROWS = int(os.environ.get("BENCH_MIXED_ROWS", "100000"))


def mixed_ledger(db: Database, user_id: int, rows: int) -> None:
    """About `rows` ledger entries of every kind for one user, each through the service that
    writes it: in every ten, four scans, an adjustment, a payout held and rejected (two
    entries), a payout held and approved, and a reversal of one of the scans."""
    cycles = -(-rows // 9)
    coupons = iter(new_coupons(db, 4 * cycles, points=10))
    now = int(time.time())
    written = 0
    for start in range(0, cycles, 100):
        with db.write() as tx:
            for _ in range(min(100, cycles - start)):
                scans = [redeem_coupon(tx, user_id, next(coupons), now, NO_LIMIT).scan_id for _ in range(4)]
                adjust(tx, "bench", user_id, 5, "bench", now)
                held = request_payout(tx, user_id, 10, now, NO_LIMIT)["payout"]["id"]
                reject(tx, "bench", held, "bench", now)
                paid = request_payout(tx, user_id, 10, now, NO_LIMIT)["payout"]["id"]
                approve(tx, "bench", paid, "bench", now)
                reverse_scan(tx, "bench", scans[0], "bench", False, now)
                written += 9
    print(f"  a ledger of {written:,} mixed rows", file=sys.stderr)


def points_rows(
    engine: str, url: str, shown_url: str, db: Database, port: int, settle: Callable[[], None] = lambda: None
) -> None:
    """/scan of one user, with and without keys, then replayed; the wallets, 10 and 100,000
    mixed rows. `settle()` runs after seeding (PostgreSQL's ANALYZE)."""
    (_, plain_user), (_, keyed_user), (small_id, small), (big_id, big) = (
        add_users(db, 1, prefix=700 + i)[0] for i in range(4)
    )
    print(f"{engine}: seeding a ledger of {MIXED_ROWS:,} mixed rows", file=sys.stderr)
    mixed_ledger(db, big_id, MIXED_ROWS)
    mixed_ledger(db, small_id, 10)
    files = {
        name: write_lines(OUT / f"points-{engine}-{name}.txt", new_coupons(db, 60_000)) for name in ("plain", "keyed")
    }
    users = {
        name: write_lines(OUT / f"points-{engine}-user-{name}.txt", [token])
        for name, token in (("plain", plain_user), ("keyed", keyed_user))
    }
    server = Server(url, shown_url, port)
    SERVER[:] = [server]
    try:
        ports = [port]
        plain = measure(
            "scan.lua", ports=ports, distinct=True, BENCH_COUPONS=str(files["plain"]), BENCH_USERS=str(users["plain"])
        )
        add_row(f"{engine}: POST /scan distinct, one user, no Idempotency-Key (baseline)", plain, "", 0, {"200"})
        keyed = measure(
            "scan.lua",
            ports=ports,
            distinct=True,
            BENCH_COUPONS=str(files["keyed"]),
            BENCH_USERS=str(users["keyed"]),
            BENCH_IDEMPOTENT="1",
        )
        ratio = keyed["rps"] / plain["rps"]
        row = add_row(
            f"{engine}: POST /scan distinct, one user, a new Idempotency-Key each",
            keyed,
            "",
            0,
            {"200"},
            "≥0.8× the baseline",
            ratio >= 0.8,
        )
        row["ratio_text"] = f"{ratio:.2f}× baseline"
        with db.snapshot() as tx:
            claimed = [key.removeprefix("scan-") for (key,) in tx.all("SELECT key FROM idempotency_keys")]
        if len(claimed) < keyed["statuses"].get("200", 0):
            raise InvariantBroken(f"INVARIANT BROKEN: {len(claimed)} keys kept for {keyed['statuses']} answers")
        replay_file = write_lines(OUT / f"points-{engine}-replay.txt", claimed)
        replayed = measure(
            "scan.lua",
            ports=ports,
            BENCH_COUPONS=str(replay_file),
            BENCH_USERS=str(users["keyed"]),
            BENCH_IDEMPOTENT="1",
        )
        if set(replayed["statuses"]) != {"200 replayed"}:
            raise InvariantBroken(f"INVARIANT BROKEN: a replay answered {replayed['statuses']}")
        ratio = replayed["rps"] / keyed["rps"]
        row = add_row(
            f"{engine}: POST /scan replayed (the same keys again)",
            replayed,
            "",
            0,
            {"200 replayed"},
            "≥1× a first keyed /scan",
            ratio >= 1,
        )
        row["ratio_text"] = f"{ratio:.2f}× first keyed"
        small_wallet = measure("get.lua", "/users/me/wallet", ports=ports, BENCH_BEARER=small)
        add_row(f"{engine}: GET /users/me/wallet, 10 mixed rows", small_wallet, "", 0, {"200"})
        big_wallet = measure("get.lua", "/users/me/wallet", ports=ports, BENCH_BEARER=big)
        ratio = big_wallet["p99_us"] / small_wallet["p99_us"]
        row = add_row(
            f"{engine}: GET /users/me/wallet, {MIXED_ROWS:,} mixed rows",
            big_wallet,
            "",
            0,
            {"200"},
            "p99 ≤1.5× the 10-row wallet's",
            ratio <= 1.5,
        )
        row["ratio_text"] = f"p99 {ratio:.2f}× 10 rows"
    finally:
        server.stop()
        SERVER.clear()
