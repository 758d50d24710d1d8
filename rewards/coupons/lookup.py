"""Coupons and batches as operators see them: a coupon with its status and scan, a batch with
its four counts (from its tallies, so a million coupons cost what ten do).

A batch still being built (`builder` set: gen-coupons, building.py) and its coupons are not
there for any of these until the batch is whole."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .. import clock, paging
from ..db import Transaction
from ..exceptions import BatchNotFound, CouponNotFound
from .batches import Batch

_COUPON = """
SELECT c.token, c.status, c.batch_id, c.voided_at, c.void_reason, b.points, b.expires_at, b.created_at,
       s.id AS scan_id, s.user_id, s.created_at AS redeemed_at, s.device_id, s.reversed_at
FROM coupons c
JOIN batches b ON b.id = c.batch_id
-- Its latest scan: the one standing, or the last reversed (a coupon put back in play may
-- have been scanned several times).
LEFT JOIN scans s ON s.id = (SELECT max(id) FROM scans WHERE coupon_id = c.id)
WHERE c.token = ? AND b.builder IS NULL
"""

_BATCHES = """
SELECT b.id, b.label, b.count, b.points, b.expires_at, b.created_at, b.voided_at, b.void_reason,
       coalesce(t.redeemed, 0) AS redeemed, coalesce(t.voided, 0) AS voided
FROM batches b
LEFT JOIN (
    -- CAST: PostgreSQL sums bigints as numeric.
    SELECT batch_id, CAST(sum(redeemed) AS BIGINT) AS redeemed, CAST(sum(voided) AS BIGINT) AS voided
    FROM batch_tallies GROUP BY batch_id
) t ON t.batch_id = b.id
WHERE b.builder IS NULL
"""


def coupon_exists(tx: Transaction, token: str) -> None:
    """CouponNotFound unless a coupon has this token."""
    found = tx.one(
        "SELECT 1 FROM coupons c JOIN batches b ON b.id = c.batch_id WHERE c.token = ? AND b.builder IS NULL", (token,)
    )
    if found is None:
        raise CouponNotFound("No coupon has that token.")


def whole_batch(tx: Transaction, batch_id: int) -> None:
    """BatchNotFound unless the batch exists and is whole."""
    if tx.one("SELECT 1 FROM batches WHERE id = ? AND builder IS NULL", (batch_id,)) is None:
        raise BatchNotFound("No batch has that id.")


def batch_for_export(tx: Transaction, batch_id: int) -> dict[str, Any]:
    """What every exported row of the batch repeats (id, points, expiry), or BatchNotFound."""
    row = tx.one("SELECT id, points, expires_at FROM batches WHERE id = ? AND builder IS NULL", (batch_id,))
    if row is None:
        raise BatchNotFound("No batch has that id.")
    return {"id": row["id"], "points": row["points"], "expires_at": row["expires_at"]}


def is_expired(expires_at: int | None, now: int) -> bool:
    """The one rule in Python (the SQL that counts or redeems says the same: `expires_at <
    :now`, held to it by the same tests on both engines): a batch expires after its last
    second, and one with no end never does."""
    return expires_at is not None and expires_at < now


def coupon_status(status: str, expires_at: int | None, now: int) -> str:
    """Void wins over expired; a redeemed coupon stays redeemed."""
    if status in ("redeemed", "void"):
        return status
    return "expired" if is_expired(expires_at, now) else "active"


@dataclass(frozen=True)
class CouponScan:
    id: int
    user_id: int
    redeemed_at: int
    device_id: str | None
    reversed_at: int | None


@dataclass(frozen=True)
class Coupon:
    token: str
    status: str  # active, redeemed, expired or void, as of the moment it was read
    points: int
    batch_id: int
    expires_at: int | None
    created_at: int
    voided_at: int | None
    void_reason: str | None
    scan: CouponScan | None  # the latest scan: the standing one, or the last reversed


def find_coupon(tx: Transaction, token: str, now: int) -> Coupon:
    """The coupon with its latest scan, or CouponNotFound."""
    row = tx.one(_COUPON, (token,))
    if row is None:
        raise CouponNotFound("No coupon has that token.")
    scan = None
    if row["scan_id"] is not None:
        scan = CouponScan(row["scan_id"], row["user_id"], row["redeemed_at"], row["device_id"], row["reversed_at"])
    return Coupon(
        token=row["token"],
        status=coupon_status(row["status"], row["expires_at"], now),
        points=row["points"],
        batch_id=row["batch_id"],
        expires_at=row["expires_at"],
        created_at=row["created_at"],
        voided_at=row["voided_at"],
        void_reason=row["void_reason"],
        scan=scan,
    )


def coupon_json(coupon: Coupon) -> dict[str, Any]:
    scan = coupon.scan
    return {
        "token": coupon.token,
        "status": coupon.status,
        "points": coupon.points,
        "batch_id": coupon.batch_id,
        "expires_at": clock.to_rfc3339(coupon.expires_at),
        "created_at": clock.to_rfc3339(coupon.created_at),
        "voided_at": clock.to_rfc3339(coupon.voided_at),
        "void_reason": coupon.void_reason,
        "scan": None
        if scan is None
        else {
            "id": scan.id,
            "user_id": scan.user_id,
            "redeemed_at": clock.to_rfc3339(scan.redeemed_at),
            "device_id": scan.device_id,
            "reversed_at": clock.to_rfc3339(scan.reversed_at),
        },
    }


def coupon_view(tx: Transaction, token: str, now: int) -> dict[str, Any]:
    return coupon_json(find_coupon(tx, token, now))


@dataclass(frozen=True)
class CouponCounts:
    """A batch's coupons by state; they add up to its count."""

    active: int
    redeemed: int
    expired: int
    void: int


@dataclass(frozen=True)
class BatchView(Batch):
    """A batch as operators see it, its void and its counts too; times in seconds, formatted by
    whoever shows them."""

    voided_at: int | None
    void_reason: str | None
    coupons: CouponCounts

    def as_json(self) -> dict[str, Any]:
        return {
            **super().as_json(),
            "voided_at": clock.to_rfc3339(self.voided_at),
            "void_reason": self.void_reason,
            "coupons": asdict(self.coupons),
        }


def _batch(row: Any, now: int) -> BatchView:
    unspent = row["count"] - row["redeemed"] - row["voided"]
    expired = is_expired(row["expires_at"], now)
    counts = CouponCounts(
        active=0 if expired else unspent,
        redeemed=row["redeemed"],
        expired=unspent if expired else 0,
        void=row["voided"],
    )
    return BatchView(
        id=row["id"],
        label=row["label"],
        count=row["count"],
        points=row["points"],
        expires_at=row["expires_at"],
        created_at=row["created_at"],
        voided_at=row["voided_at"],
        void_reason=row["void_reason"],
        coupons=counts,
    )


def batch_view(tx: Transaction, batch_id: int, now: int) -> BatchView:
    row = tx.one(_BATCHES + " AND b.id = ?", (batch_id,))
    if row is None:
        raise BatchNotFound("No batch has that id.")
    return _batch(row, now)


def batch_page(tx: Transaction, limit: int, before: int | None, now: int) -> tuple[list[BatchView], int | None]:
    """Batches, newest first, and the `before` of the next page (None at the last)."""
    rows = tx.all(
        _BATCHES + " AND b.id < ? ORDER BY b.id DESC LIMIT ?", (paging.below(before), paging.fetch_size(limit))
    )
    page, next_before = paging.split(rows, limit)
    return [_batch(row, now) for row in page], next_before


def fastest_batches(tx: Transaction, limit: int, now: int) -> list[BatchView]:
    """The batches not void with the largest share of their coupons redeemed, from their
    tallies (a row or a few per batch, never the coupons), ties to the newest."""
    rows = tx.all(
        _BATCHES
        + " AND b.voided_at IS NULL AND t.redeemed > 0"
        + " ORDER BY t.redeemed * 1.0 / b.count DESC, b.id DESC LIMIT ?",
        (limit,),
    )
    return [_batch(row, now) for row in rows]
