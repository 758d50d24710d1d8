"""Redeeming a coupon exactly once and crediting its points, inside the caller's transaction."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from .. import ratelimit, stats
from ..coupons.batches import TALLY_SHARDS, tally
from ..coupons.lookup import is_expired
from ..db import Database, Transaction
from ..exceptions import CouponAlreadyRedeemed, CouponExpired, CouponNotFound, CouponVoid, RateLimited, Refusal
from ..ledger.service import post_entry

# The answers to each refusal, the same on both engines' paths.
NOT_FOUND = "No coupon has that token."
VOID = "This coupon was withdrawn by the operator."
ALREADY_REDEEMED = "This coupon has already been redeemed."
EXPIRED = "This coupon has expired."
TOO_MANY = "Too many scans; wait before scanning again."

# PostgreSQL's redeem_coupon() (migrations/postgresql/0010_scan_in_one_call.sql) answers a
# refusal as its problem's code: the refusal each code stands for.
_REFUSED: dict[str, tuple[type[Refusal], str]] = {
    "coupon_not_found": (CouponNotFound, NOT_FOUND),
    "coupon_void": (CouponVoid, VOID),
    "coupon_already_redeemed": (CouponAlreadyRedeemed, ALREADY_REDEEMED),
    "coupon_expired": (CouponExpired, EXPIRED),
}

_REDEEM_IN_ONE_CALL = """
SELECT outcome, scan_id, points, balance, retry_after
FROM redeem_coupon(:user, :instance, :token, :now, :device, :limit, :window, :tally_shard, :day_shard)
"""


@dataclass(frozen=True)
class Redemption:
    scan_id: int
    token: str
    points: int
    balance: int
    redeemed_at: int


def redeem_coupon(
    tx: Transaction,
    user_id: int,
    token: str,
    now: int,
    rate_limit: tuple[int, int],
    device_id: str | None = None,
    *,
    unknown_user: Refusal | None = None,
    instance: str | None = None,
) -> Redemption:
    """Redeem `token` for `user_id`, or raise why not. The hit on the user's SCAN_RATE_LIMIT is
    counted, and kept when the scan is refused. With `instance` (the bearer token's database),
    on PostgreSQL the user is also checked to exist in this database, and `unknown_user` raised
    when not; elsewhere the caller has checked the user before.

    On PostgreSQL this is one call of the schema's redeem_coupon(), one round trip; on SQLite
    the same rules as statements here, inside BEGIN IMMEDIATE.
    """
    if tx.backend.redeems_in_one_call:
        return _redeem_in_one_call(tx, user_id, token, now, rate_limit, device_id, unknown_user, instance)
    ratelimit.count(tx, f"scan:{user_id}", rate_limit, now, TOO_MANY)
    # The coupon row is locked as it is read (BEGIN IMMEDIATE on SQLite, FOR NO KEY UPDATE where
    # the backend keeps it: enough for the status it changes, and no obstacle to foreign-key
    # checks), so its status is still true when the scan is written; the UNIQUE index on
    # scans.coupon_id stands behind it, answered by ON CONFLICT rather than by an error.
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
        raise CouponNotFound(NOT_FOUND)
    if coupon["status"] == "void" or coupon["batch_voided_at"] is not None:
        raise CouponVoid(VOID)
    if coupon["status"] == "redeemed":
        raise CouponAlreadyRedeemed(ALREADY_REDEEMED)
    if is_expired(coupon["expires_at"], now):
        raise CouponExpired(EXPIRED)
    scan_id = tx.scalar(
        """
        INSERT INTO scans (coupon_id, user_id, created_at, device_id) VALUES (?, ?, ?, ?)
        ON CONFLICT DO NOTHING RETURNING id
        """,
        (coupon["id"], user_id, now, device_id),
    )
    if scan_id is None:
        raise CouponAlreadyRedeemed(ALREADY_REDEEMED)
    tx.execute("UPDATE coupons SET status = 'redeemed' WHERE id = ?", (coupon["id"],))
    tally(tx, coupon["batch_id"], redeemed=1)
    stats.count_scan(tx, now)
    posted = post_entry(tx, user_id, "scan", coupon["points"], now, scan_id=scan_id, scans=1)
    return Redemption(scan_id, token, coupon["points"], posted.balance, now)


def _redeem_in_one_call(
    tx: Transaction,
    user_id: int,
    token: str,
    now: int,
    rate_limit: tuple[int, int],
    device_id: str | None,
    unknown_user: Refusal | None,
    instance: str | None,
) -> Redemption:
    """The scan as one statement in the caller's transaction (a claimed Idempotency-Key's): a
    round trip where the statements above take four, with the bearer's check inside it (issue
    #17). The function answers a refusal instead of raising it, so what it wrote (the counted
    hit) is all that is left to keep."""
    row = tx.one(_REDEEM_IN_ONE_CALL, _one_call_params(user_id, token, now, rate_limit, device_id, instance))
    if row[0] not in ("redeemed", "unauthorized"):
        with tx.kept_when_refused():
            pass  # the hit the function counted, and all before it, outlives the refusal
    # unauthorized: nothing was written or counted, and all of it rolls back.
    return _redemption(row, token, now, unknown_user)


def redeem_alone(
    db: Database,
    user_id: int,
    token: str,
    now: int,
    rate_limit: tuple[int, int],
    device_id: str | None,
    unknown_user: Refusal,
    instance: str,
) -> Redemption:
    """A scan with no Idempotency-Key on PostgreSQL: the schema's redeem_coupon() as a statement
    that is its own transaction, one round trip with no BEGIN or COMMIT (issue #17). All or
    nothing as any transaction, and durable once it answers; on a refusal what it wrote is the
    counted hit, which is to be kept anyway."""
    row = db.write_statement(
        _REDEEM_IN_ONE_CALL, _one_call_params(user_id, token, now, rate_limit, device_id, instance)
    )
    return _redemption(row, token, now, unknown_user)


def _one_call_params(
    user_id: int, token: str, now: int, rate_limit: tuple[int, int], device_id: str | None, instance: str | None
) -> dict[str, Any]:
    return {
        "user": user_id,
        "instance": instance,
        "token": token,
        "now": now,
        "device": device_id,
        "limit": rate_limit[0],
        "window": rate_limit[1],
        "tally_shard": random.randrange(TALLY_SHARDS),
        "day_shard": random.randrange(stats.SHARDS),
    }


def _redemption(row: Any, token: str, now: int, unknown_user: Refusal | None) -> Redemption:
    """redeem_coupon()'s answer as the scan, or the refusal it stands for."""
    outcome, scan_id, points, balance, retry_after = row
    if outcome == "redeemed":
        return Redemption(scan_id, token, points, balance, now)
    if outcome == "unauthorized":
        assert unknown_user is not None, "an instance is checked only with the refusal to give"
        raise unknown_user
    if outcome == "rate_limited":
        raise RateLimited(TOO_MANY, retry_after=retry_after)
    refusal, detail = _REFUSED[outcome]
    raise refusal(detail)
