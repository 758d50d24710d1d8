"""Taking a scan back (POST /scans/<id>/reverse): its points leave the balance (a 'reversal'
entry), and its coupon becomes void, or active again with `restore` so it can be scanned anew."""

from __future__ import annotations

from typing import Any

from .. import audit, clock, stats
from ..coupons.batches import tally
from ..coupons.lookup import coupon_view
from ..db import Transaction
from ..exceptions import ScanAlreadyReversed, ScanNotFound
from ..ledger.service import post_entry

_SCAN = """
SELECT s.id, s.user_id, s.coupon_id, s.reversed_at, c.token, c.batch_id, b.points, b.voided_at AS batch_voided_at
FROM scans s
JOIN coupons c ON c.id = s.coupon_id
JOIN batches b ON b.id = c.batch_id
WHERE s.id = ?
FOR NO KEY UPDATE OF s, c
"""


def reverse_scan(tx: Transaction, operator: str, scan_id: int, reason: str, restore: bool, now: int) -> dict[str, Any]:
    """Reverse the scan once, or raise ScanNotFound, ScanAlreadyReversed or InsufficientPoints
    (the user has spent the points: a balance never goes below zero). The scan's and its
    coupon's rows are locked first, then the balance's (as a redemption locks them), so a
    reversal racing a payout or a second reversal is decided one after the other.

    A coupon of a voided batch stays void even with `restore`: the batch was withdrawn."""
    scan = tx.one(_SCAN, (scan_id,))
    if scan is None:
        raise ScanNotFound("No scan has that id.")
    if scan["reversed_at"] is not None:
        raise ScanAlreadyReversed("This scan was reversed before.")
    points = scan["points"]
    posted = post_entry(tx, scan["user_id"], "reversal", -points, now, scan_id=scan_id, reason=reason, scans=-1)
    tx.execute("UPDATE scans SET reversed_at = ? WHERE id = ?", (now, scan_id))
    back_in_play = restore and scan["batch_voided_at"] is None
    if back_in_play:
        tx.execute("UPDATE coupons SET status = 'active' WHERE id = ?", (scan["coupon_id"],))
    else:
        tx.execute(
            "UPDATE coupons SET status = 'void', voided_at = ?, void_reason = ? WHERE id = ?",
            (now, reason, scan["coupon_id"]),
        )
    tally(tx, scan["batch_id"], redeemed=-1, voided=0 if back_in_play else 1)
    stats.add(tx, stats.REVERSED, points)
    audit.record(
        tx,
        operator,
        "scan.reverse",
        f"scan:{scan_id}",
        reason,
        {"user_id": scan["user_id"], "points": points, "coupon": scan["token"], "restore": back_in_play},
        now,
    )
    return {
        "scan_id": scan_id,
        "user_id": scan["user_id"],
        "points": points,
        "balance": posted.balance,
        "reversed_at": clock.to_rfc3339(now),
        "coupon": coupon_view(tx, scan["token"], now),
    }
