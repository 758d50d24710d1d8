"""The ledger: the one writer of balances.

Every change of a balance is one ledger entry written in the same statement pair as the
balance, inside the caller's transaction; nothing else in the service touches `balance`. So
SUM(ledger_entries.points) = users.balance holds always (tests check it after every race).
"""

from __future__ import annotations

from ..db import Transaction


def post_entry(
    tx: Transaction, user_id: int, kind: str, points: int, now: int, *, scan_id: int | None = None, scans: int = 0
) -> int:
    """Append a ledger entry and move the balance (and the count of scans) by it; return the
    new balance."""
    tx.execute(
        "INSERT INTO ledger_entries (user_id, kind, points, scan_id, created_at) VALUES (?, ?, ?, ?, ?)",
        (user_id, kind, points, scan_id, now),
    )
    return tx.scalar(
        "UPDATE users SET balance = balance + ?, scans = scans + ? WHERE id = ? RETURNING balance",
        (points, scans, user_id),
    )
