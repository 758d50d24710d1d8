"""Payouts inside the caller's transaction: requesting one holds its points at once (a 'payout'
ledger entry), so they cannot be spent twice however many requests race; approving records
the transfer's reference; rejecting gives the points back once (a 'payout_refund' entry)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .. import audit, clock, paging, ratelimit, stats
from ..db import Transaction
from ..exceptions import PayoutNotFound, PayoutNotPending
from ..ledger.service import post_entry

STATUSES = ("pending", "approved", "rejected")
MAX_POINTS = 1_000_000_000_000
MAX_REFERENCE = 100
CSV_HEADER = (
    "id",
    "user_id",
    "phone",
    "points",
    "status",
    "created_at",
    "decided_at",
    "operator",
    "reference",
    "reason",
)

_COLUMNS = "p.id, p.user_id, p.points, p.status, p.created_at, p.decided_at, p.operator, p.reference, p.reason"


@dataclass(frozen=True)
class Payout:
    id: int
    user_id: int
    points: int
    status: str
    created_at: int
    decided_at: int | None
    reference: str | None
    reason: str | None


def _payout(row: Any) -> Payout:
    return Payout(
        row["id"],
        row["user_id"],
        row["points"],
        row["status"],
        row["created_at"],
        row["decided_at"],
        row["reference"],
        row["reason"],
    )


def payout_json(payout: Payout) -> dict[str, Any]:
    return {
        "id": payout.id,
        "user_id": payout.user_id,
        "points": payout.points,
        "status": payout.status,
        "created_at": clock.to_rfc3339(payout.created_at),
        "decided_at": clock.to_rfc3339(payout.decided_at),
        "reference": payout.reference,
        "reason": payout.reason,
    }


def request_payout(tx: Transaction, user_id: int, points: int, now: int, rate_limit: tuple[int, int]) -> dict[str, Any]:
    """Hold `points` of the user's balance for a new pending payout, or InsufficientPoints, or
    RateLimited past `rate_limit` (calls, seconds) for this user."""
    # Refused requests count too: each one is a transaction and, with an Idempotency-Key, a
    # kept answer (4,914 in 10 s from one account).
    ratelimit.count(tx, f"payout:{user_id}", rate_limit, now, "Too many payout requests; wait before asking again.")
    payout_id = tx.scalar(
        "INSERT INTO payouts (user_id, points, status, created_at) VALUES (?, ?, 'pending', ?) RETURNING id",
        (user_id, points, now),
    )
    posted = post_entry(tx, user_id, "payout", -points, now, payout_id=payout_id)
    stats.add(tx, stats.PENDING_PAYOUTS, points)
    row = {
        "id": payout_id,
        "user_id": user_id,
        "points": points,
        "status": "pending",
        "created_at": now,
        "decided_at": None,
        "reference": None,
        "reason": None,
    }
    return {"payout": payout_json(_payout(row)), "balance": posted.balance}


def approve(tx: Transaction, operator: str, payout_id: int, reference: str, now: int) -> dict[str, Any]:
    payout = _pending(tx, payout_id)
    tx.execute(
        "UPDATE payouts SET status = 'approved', decided_at = ?, operator = ?, reference = ? WHERE id = ?",
        (now, operator, reference, payout_id),
    )
    stats.add(tx, stats.PENDING_PAYOUTS, -payout["points"])
    stats.add(tx, stats.PAID_OUT, payout["points"])
    details = {"user_id": payout["user_id"], "points": payout["points"], "reference": reference}
    audit.record(tx, operator, "payout.approve", f"payout:{payout_id}", None, details, now)
    return payout_view(tx, payout_id)


def reject(tx: Transaction, operator: str, payout_id: int, reason: str, now: int) -> dict[str, Any]:
    payout = _pending(tx, payout_id)
    tx.execute(
        "UPDATE payouts SET status = 'rejected', decided_at = ?, operator = ?, reason = ? WHERE id = ?",
        (now, operator, reason, payout_id),
    )
    post_entry(tx, payout["user_id"], "payout_refund", payout["points"], now, payout_id=payout_id, reason=reason)
    stats.add(tx, stats.PENDING_PAYOUTS, -payout["points"])
    details = {"user_id": payout["user_id"], "points": payout["points"]}
    audit.record(tx, operator, "payout.reject", f"payout:{payout_id}", reason, details, now)
    return payout_view(tx, payout_id)


def _pending(tx: Transaction, payout_id: int) -> Any:
    """The payout's row, locked until the transaction ends, so an approval racing a rejection
    is decided one after the other; PayoutNotFound or PayoutNotPending otherwise."""
    row = tx.one("SELECT user_id, points, status FROM payouts WHERE id = ? FOR NO KEY UPDATE", (payout_id,))
    if row is None:
        raise PayoutNotFound("No payout has that id.")
    if row["status"] != "pending":
        raise PayoutNotPending(f"This payout was {row['status']} already.")
    return row


def payout_view(tx: Transaction, payout_id: int) -> dict[str, Any]:
    row = tx.one(f"SELECT {_COLUMNS} FROM payouts p WHERE p.id = ?", (payout_id,))
    if row is None:
        raise PayoutNotFound("No payout has that id.")
    return payout_json(_payout(row))


# One fixed statement per filter, keyed by (status given, user given), rather than
# `CAST(:x AS ...) IS NULL OR ...`: with that form SQLite plans once for any value and so never
# uses payouts_by_user or payouts_by_status, and a user with no payouts paged past 500,000 rows
# of another user's (40-60 ms a call; bench/lists.py has the figures).
PAGE_STATEMENTS = {
    (status, user): f"SELECT {_COLUMNS} FROM payouts p WHERE {where} ORDER BY p.id DESC LIMIT :limit"
    for (status, user), where in {
        (False, False): "p.id < :before",
        (True, False): "p.status = :status AND p.id < :before",
        (False, True): "p.user_id = :user AND p.id < :before",
        (True, True): "p.user_id = :user AND p.status = :status AND p.id < :before",
    }.items()
}


def list_payouts(
    tx: Transaction, limit: int, before: int | None, *, status: str | None = None, user_id: int | None = None
) -> tuple[list[Payout], int | None]:
    """A page of payouts newest first, of one status and one user when given, and the `before`
    of the next page."""
    rows = tx.all(
        PAGE_STATEMENTS[status is not None, user_id is not None],
        {"before": paging.below(before), "status": status, "user": user_id, "limit": paging.fetch_size(limit)},
    )
    page, next_before = paging.split(rows, limit)
    return [_payout(row) for row in page], next_before


def payout_page(
    tx: Transaction, limit: int, before: int | None, *, status: str | None = None, user_id: int | None = None
) -> dict[str, Any]:
    payouts, next_before = list_payouts(tx, limit, before, status=status, user_id=user_id)
    return {"payouts": [payout_json(payout) for payout in payouts], "next_before": next_before}


def csv_lines(tx: Transaction, status: str | None) -> Iterator[str]:
    """Every payout (of one status when given) as CSV, newest first, a thousand lines at a
    time, in the dialect spreadsheets open (CRLF lines, quotes where a cell needs them). Text
    an operator typed (reference, reason) that a spreadsheet would run as a formula (= + - @
    first) is prefixed with a quote."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    rows = tx.stream(
        f"""
        SELECT {_COLUMNS}, u.phone FROM payouts p JOIN users u ON u.id = p.user_id
        WHERE CAST(:status AS TEXT) IS NULL OR p.status = :status ORDER BY p.id DESC
        """,
        {"status": status},
    )
    for n, (pid, user_id, points, state, created, decided, operator, reference, reason, phone) in enumerate(
        rows, start=1
    ):
        writer.writerow(
            (
                pid,
                user_id,
                phone,
                points,
                state,
                clock.to_rfc3339(created),
                clock.to_rfc3339(decided) or "",
                operator or "",
                _cell(reference),
                _cell(reason),
            )
        )
        if n % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _cell(text: str | None) -> str:
    if not text:
        return ""
    return "'" + text if text[0] in "=+-@\t\r" else text
