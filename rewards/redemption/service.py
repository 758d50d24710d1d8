"""Redeeming a coupon exactly once and crediting its points, inside the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass

from .. import ratelimit, stats
from ..coupons.batches import tally
from ..db import Transaction
from ..exceptions import CouponAlreadyRedeemed, CouponExpired, CouponNotFound, CouponVoid
from ..ledger.service import post_entry


@dataclass(frozen=True)
class Redemption:
    scan_id: int
    token: str
    points: int
    balance: int
    redeemed_at: int


def redeem_coupon(
    tx: Transaction, user_id: int, token: str, now: int, rate_limit: tuple[int, int], device_id: str | None = None
) -> Redemption:
    """Redeem `token` for `user_id`, or raise why not.

    The coupon row is locked as it is read (BEGIN IMMEDIATE on SQLite, FOR NO KEY UPDATE on
    PostgreSQL: enough for the status it changes, and no obstacle to foreign-key checks), so its status is still true when the scan is written; the UNIQUE index on
    scans.coupon_id stands behind it, answered by ON CONFLICT rather than by an error, which
    would abort a PostgreSQL transaction and with it the rate-limit hit.
    """
    ratelimit.count(tx, f"scan:{user_id}", rate_limit, now, "Too many scans; wait before scanning again.")
    coupon = tx.one(
        """
        SELECT c.id, c.status, c.batch_id, b.points, b.expires_at, b.voided_at AS batch_voided_at
        FROM coupons c JOIN batches b ON b.id = c.batch_id
        -- A batch still being built (gen-coupons) is not there yet: its coupons are not found.
        WHERE c.token = ? AND b.builder IS NULL
        FOR NO KEY UPDATE OF c
        """,
        (token,),
    )
    if coupon is None:
        raise CouponNotFound("No coupon has that token.")
    if coupon["status"] == "void" or coupon["batch_voided_at"] is not None:
        raise CouponVoid("This coupon was withdrawn by the operator.")
    if coupon["status"] == "redeemed":
        raise CouponAlreadyRedeemed("This coupon has already been redeemed.")
    if coupon["expires_at"] is not None and coupon["expires_at"] < now:
        raise CouponExpired("This coupon has expired.")
    scan_id = tx.scalar(
        """
        INSERT INTO scans (coupon_id, user_id, created_at, device_id) VALUES (?, ?, ?, ?)
        ON CONFLICT DO NOTHING RETURNING id
        """,
        (coupon["id"], user_id, now, device_id),
    )
    if scan_id is None:
        raise CouponAlreadyRedeemed("This coupon has already been redeemed.")
    tx.execute("UPDATE coupons SET status = 'redeemed' WHERE id = ?", (coupon["id"],))
    tally(tx, coupon["batch_id"], redeemed=1)
    stats.count_scan(tx, now)
    posted = post_entry(tx, user_id, "scan", coupon["points"], now, scan_id=scan_id, scans=1)
    return Redemption(scan_id, token, coupon["points"], posted.balance, now)
