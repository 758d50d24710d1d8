"""make bench, the filtered lists' rows (issue #14, item 12): GET /users/me/payouts of a user with
no payouts, /payouts?status= of a rare status and /audit?action= of a rare action, each against
the unfiltered page, at 500,000 payouts of one user and 500,000 audit entries, on SQLite and on
PostgreSQL. Timed in process through the services the routes call (the HTTP around them is the
same for every list); the statements before the fix run in the same run, on the same rows.

Run alone: .venv/bin/python bench/lists.py (prints the table); `make bench` adds it to RESULTS.md."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.engines import on_both_engines, per_call_ms  # noqa: E402
from bench.seed import add_users  # noqa: E402
from rewards import audit  # noqa: E402
from rewards.db import Database  # noqa: E402
from rewards.payouts.service import payout_page  # noqa: E402

ROWS = int(os.environ.get("BENCH_LIST_ROWS", "500000"))
CALLS = int(os.environ.get("BENCH_LIST_CALLS", "200"))
_NUMBERS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
# The statements before the fix, to time beside the new ones.
_OLD_PAYOUTS = """
    SELECT p.id, p.user_id, p.points, p.status, p.created_at, p.decided_at, p.operator, p.reference, p.reason
    FROM payouts p WHERE p.id < :before AND (CAST(:status AS TEXT) IS NULL OR p.status = :status)
      AND (CAST(:user AS BIGINT) IS NULL OR p.user_id = :user)
    ORDER BY p.id DESC LIMIT :limit
"""
_OLD_AUDIT = """
    SELECT id, at, operator, action, target, reason, details FROM audit_log
    WHERE id < ? AND (CAST(? AS TEXT) IS NULL OR action = ?) ORDER BY id DESC LIMIT ?
"""
_TOP = 2**62


def seed(db: Database) -> tuple[int, int]:
    """ROWS approved payouts of one user and ROWS audit entries of one action; a second user
    with none. Returns (crowded user, empty user)."""
    (crowded, _), (empty, _) = add_users(db, 2, prefix=700)
    with db.write() as tx:
        tx.execute(
            _NUMBERS + "INSERT INTO payouts (user_id, points, status, created_at, decided_at, operator, reference) "
            "SELECT ?, 1, 'approved', 1, 2, 'bench', 'bulk' FROM n",
            (ROWS, crowded),
        )
        tx.execute(
            _NUMBERS + "INSERT INTO audit_log (at, operator, action, target, reason, details) "
            "SELECT 1, 'bench', 'user.adjust', 'user:1', 'bulk', '{}' FROM n",
            (ROWS,),
        )
    return crowded, empty


def measure(engine: str, db: Database, settle: Callable[[], None] = lambda: None) -> list[dict]:
    print(f"{engine}: seeding {ROWS:,} payouts of one user and {ROWS:,} audit entries", file=sys.stderr)
    crowded, empty = seed(db)
    settle()
    cases = [
        ("GET /payouts (unfiltered)", lambda tx: payout_page(tx, 20, None), None),
        (
            "GET /users/me/payouts, a user with none",
            lambda tx: payout_page(tx, 20, None, user_id=empty),
            lambda tx: tx.all(_OLD_PAYOUTS, {"before": _TOP, "status": None, "user": empty, "limit": 21}),
        ),
        (
            "GET /payouts?status=pending, none pending",
            lambda tx: payout_page(tx, 20, None, status="pending"),
            lambda tx: tx.all(_OLD_PAYOUTS, {"before": _TOP, "status": "pending", "user": None, "limit": 21}),
        ),
        ("GET /audit (unfiltered)", lambda tx: audit.entries(tx, 20, None, None), None),
        (
            "GET /audit?action=payout.reject, none such",
            lambda tx: audit.entries(tx, 20, None, "payout.reject"),
            lambda tx: tx.all(_OLD_AUDIT, (_TOP, "payout.reject", "payout.reject", 21)),
        ),
    ]
    results = []
    baseline = 0.0
    for name, now, before in cases:
        ms = per_call_ms(db, now, CALLS)
        if before is None:
            baseline = ms
        old = per_call_ms(db, before, CALLS) if before is not None else None
        results.append({"engine": engine, "name": name, "ms": ms, "baseline": baseline, "before_ms": old})
        print(f"  {name}: {ms:.3f} ms" + (f" (before the fix {old:.3f} ms)" if old else ""), file=sys.stderr)
    return results


def table(results: list[dict]) -> str:
    lines = [
        f"## Filtered lists at {ROWS:,} rows (issue #14, item 12)",
        "",
        f"Median of {CALLS} calls through the service, each in its own snapshot; ratio against the",
        "unfiltered page of the same list measured in the same run. The load generator (this script)",
        "shares the 2 cores with the database server, so absolute figures swing between runs.",
        "",
        "| engine | list | ms a page | × the unfiltered page | before the fix | × now |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        before = f"{r['before_ms']:.3f} ms" if r["before_ms"] is not None else ""
        speedup = f"{r['before_ms'] / r['ms']:,.1f}×" if r["before_ms"] is not None else ""
        lines.append(
            f"| {r['engine']} | {r['name']} | {r['ms']:.3f} | {r['ms'] / r['baseline']:.2f} | {before} | {speedup} |"
        )
    return "\n".join(lines) + "\n"


def lists_section() -> str:
    """Both engines' rows, as a RESULTS.md section."""
    return table(on_both_engines("lists", measure))


if __name__ == "__main__":
    print(lists_section())
