"""A customer's scans as operators see them (the console's customer page): which coupon, when,
from which device, and whether the scan was reversed, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import paging
from ..db import Transaction
from ..exceptions import ScanNotFound

# By scans_by_user (user_id; on SQLite the rowid rides along in the index, so the order is free).
_PAGE = """
SELECT s.id, s.created_at, s.device_id, s.reversed_at, c.token, c.status, b.points
FROM scans s
JOIN coupons c ON c.id = s.coupon_id
JOIN batches b ON b.id = c.batch_id
WHERE s.user_id = :user AND s.id < :before
ORDER BY s.id DESC LIMIT :limit
"""


@dataclass(frozen=True)
class Scan:
    id: int
    token: str
    points: int
    scanned_at: int
    device_id: str | None
    reversed_at: int | None
    coupon_status: str  # the coupon's status now: 'redeemed' while the scan stands

    @property
    def standing(self) -> bool:
        return self.reversed_at is None


def _scan(row: Any) -> Scan:
    return Scan(
        row["id"], row["token"], row["points"], row["created_at"], row["device_id"], row["reversed_at"], row["status"]
    )


def scans_of(tx: Transaction, user_id: int, limit: int, before: int | None) -> tuple[list[Scan], int | None]:
    """A page of the user's scans, newest first, and the `before` of the next page."""
    rows = tx.all(_PAGE, {"user": user_id, "before": paging.below(before), "limit": paging.fetch_size(limit)})
    page, next_before = paging.split(rows, limit)
    return [_scan(row) for row in page], next_before


def scan_of_user(tx: Transaction, scan_id: int, user_id: int) -> None:
    """ScanNotFound unless the scan is this user's: a form on one customer's page reverses
    nobody else's scan."""
    if tx.one("SELECT 1 FROM scans WHERE id = ? AND user_id = ?", (scan_id, user_id)) is None:
        raise ScanNotFound("No scan of this customer has that id.")
