"""The console's search by the last digits of a phone (issue #16): at 100,000 customers, a
page of those whose phone ends with 3, 4 or 7 digits (a common ending, a rarer one, one that no
customer has: the whole table read), against the lookup of a whole number (the unique index),
on SQLite and on PostgreSQL. Timed in process through the service the console calls.

Run alone: .venv/bin/python bench/customers.py (prints the table)."""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Callable
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.engines import on_both_engines, per_call_ms  # noqa: E402
from rewards.db import Database  # noqa: E402
from rewards.ledger.search import STATEMENTS, users_ending_with  # noqa: E402
from rewards.ledger.service import find_user  # noqa: E402

USERS = int(os.environ.get("BENCH_CUSTOMERS", "100000"))
CALLS = int(os.environ.get("BENCH_CUSTOMER_CALLS", "50"))
PAGE = 50
# The statement without the index (every customer read), timed beside it on the same rows.
_FULL_SCAN = """
SELECT id, phone, balance, scans, created_at FROM users WHERE phone LIKE :pattern AND id < :before
ORDER BY id DESC LIMIT :limit
"""


def seed(db: Database) -> list[str]:
    """USERS customers with random Indian mobile numbers; returns the phones."""
    generator = random.Random(16)
    phones = sorted({f"+91{generator.randrange(6_000_000_000, 9_999_999_999)}" for _ in range(USERS)})
    generator.shuffle(phones)
    with db.write() as tx:
        for start in range(0, len(phones), 5000):
            tx.conn.cursor().executemany(
                tx.backend.translate("INSERT INTO users (phone, created_at) VALUES (?, ?)"),
                [(phone, 1_760_000_000 + n) for n, phone in enumerate(phones[start : start + 5000], start)],
            )
    return phones


def plan(db: Database) -> str:
    """How the engine reads a search of four digits (it must name users_by_phone_ending)."""
    explain = "EXPLAIN QUERY PLAN " if db.backend.name == "sqlite" else "EXPLAIN "
    params = {"pattern": "%4321", "before": 2**62, "limit": PAGE + 1, "ending_a": "4321"}
    with db.snapshot() as tx:
        return " / ".join(str(tuple(row)[-1]).strip() for row in tx.all(explain + STATEMENTS[False], params))


def measure(engine: str, db: Database, settle: Callable[[], None] = lambda: None) -> list[dict]:
    print(f"{engine}: seeding {USERS:,} customers", file=sys.stderr)
    phones = seed(db)
    settle()
    known = phones[len(phones) // 2]
    cases = [
        ("the whole number (baseline)", known, lambda tx: find_user(tx, known)),
        ("last 3 digits", known[-3:], None),
        ("last 4 digits", known[-4:], None),
        ("last 7 digits", known[-7:], None),
        ("7 digits no one has", "0000000", None),
    ]
    print(f"  plan of 4 digits: {plan(db)}", file=sys.stderr)
    results, baseline = [], 0.0
    for name, digits, call in cases:
        full = None
        if call is None:
            call = lambda tx, digits=digits: users_ending_with(tx, digits, PAGE, None)  # noqa: E731
            params = {"pattern": "%" + digits, "before": 2**62, "limit": PAGE + 1}
            full = per_call_ms(db, lambda tx, params=params: tx.all(_FULL_SCAN, params), CALLS)
        ms = per_call_ms(db, call, CALLS)
        baseline = baseline or ms
        with db.snapshot() as tx:
            found = call(tx)
        count = 1 if isinstance(found, dict) else len(found[0])
        results.append({"engine": engine, "name": name, "ms": ms, "baseline": baseline, "found": count, "full": full})
        shown = f" (without the index {full:.3f} ms)" if full else ""
        print(f"  {name}: {ms:.3f} ms, {count} found{shown}", file=sys.stderr)
    return results


def table(results: list[dict]) -> str:
    lines = [
        f"## Customers by the last digits of the phone, at {USERS:,} customers (issue #16)",
        "",
        f"Median of {CALLS} calls through the service, each in its own snapshot, a page of {PAGE};",
        "ratio against the lookup of a whole number in the same run. The load generator (this script)",
        "shares the 2 cores with the database server, so absolute figures swing between runs.",
        "",
        "| engine | search | found | ms a page | × the whole number | without the index | × now |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        full = f"{r['full']:.3f} ms | {r['full'] / r['ms']:,.0f}×" if r["full"] else " | "
        lines.append(
            f"| {r['engine']} | {r['name']} | {r['found']} | {r['ms']:.3f} | {r['ms'] / r['baseline']:.1f} | {full} |"
        )
    return "\n".join(lines) + "\n"


def customers_section() -> str:
    """Both engines' rows, as a RESULTS.md section."""
    return table(on_both_engines("customers", measure))


if __name__ == "__main__":
    print(customers_section())
