"""The console's two views of payouts: the pending queue, oldest first (the order they are
paid in), and the decided ones, newest first; each row with the customer's phone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import paging
from ..db import Transaction

_COLUMNS = """
SELECT p.id, p.user_id, u.phone, p.points, p.status, p.created_at, p.decided_at, p.operator, p.reference, p.reason
FROM payouts p JOIN users u ON u.id = p.user_id
"""

# Reads payouts_by_status from `after` upwards: the oldest waiting first, however many were
# decided before them.
PENDING_STATEMENT = f"{_COLUMNS} WHERE p.status = 'pending' AND p.id > :after ORDER BY p.id LIMIT :limit"
# `<> 'pending'` rather than `IN ('approved', 'rejected')`: walking the primary key down skips
# the few pending rows, where an IN over payouts_by_status would sort every decided payout.
DECIDED_STATEMENT = f"{_COLUMNS} WHERE p.status <> 'pending' AND p.id < :before ORDER BY p.id DESC LIMIT :limit"


@dataclass(frozen=True)
class QueuedPayout:
    id: int
    user_id: int
    phone: str
    points: int
    status: str
    created_at: int
    decided_at: int | None
    operator: str | None
    reference: str | None
    reason: str | None


def _queued(row: Any) -> QueuedPayout:
    return QueuedPayout(
        row["id"],
        row["user_id"],
        row["phone"],
        row["points"],
        row["status"],
        row["created_at"],
        row["decided_at"],
        row["operator"],
        row["reference"],
        row["reason"],
    )


def pending(tx: Transaction, limit: int, after: int | None) -> tuple[list[QueuedPayout], int | None]:
    """Up to `limit` pending payouts after the id `after`, oldest first, and the `after` of the
    next part of the queue (None at its end)."""
    rows = tx.all(PENDING_STATEMENT, {"after": after or 0, "limit": paging.fetch_size(limit)})
    page, next_after = paging.split(rows, limit)
    return [_queued(row) for row in page], next_after


def decided(tx: Transaction, limit: int, before: int | None) -> tuple[list[QueuedPayout], int | None]:
    """A page of approved and rejected payouts, newest first, and the `before` of the next."""
    rows = tx.all(DECIDED_STATEMENT, {"before": paging.below(before), "limit": paging.fetch_size(limit)})
    page, next_before = paging.split(rows, limit)
    return [_queued(row) for row in page], next_before


def waiting(tx: Transaction) -> int:
    """How many payouts wait (an index range of payouts_by_status)."""
    return tx.scalar("SELECT count(*) FROM payouts WHERE status = 'pending'")
