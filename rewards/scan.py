"""POST /scan: redeem a coupon exactly once and credit its points, in one transaction."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from flask import Blueprint, current_app, g

from . import clock, ratelimit, validation
from .db import get_db
from .errors import Problem, RateLimited
from .guards import require_user
from .transactions import write_transaction

bp = Blueprint("scan", __name__)


class CouponNotFound(Problem):
    status, code = 404, "coupon_not_found"


class CouponAlreadyRedeemed(Problem):
    status, code = 409, "coupon_already_redeemed"


class CouponExpired(Problem):
    status, code = 410, "coupon_expired"


@dataclass(frozen=True)
class Redemption:
    scan_id: int
    token: str
    points: int
    balance: int
    redeemed_at: int


def redeem_coupon(
    conn: sqlite3.Connection, user_id: int, token: str, now: int, rate_limit: tuple[int, int]
) -> Redemption:
    """Redeem `token` for `user_id`, or raise why not.

    BEGIN IMMEDIATE serialises redemptions, so the status read below is still true when the
    scan is written; the UNIQUE index on scans.coupon_id stands behind it in case it is not.
    A refusal still commits, because the rate-limit hit it counted must persist.
    """
    with write_transaction(conn, commit_on=(Problem,)):
        limit, window = rate_limit
        verdict = ratelimit.hit(conn, f"scan:{user_id}", limit, window, now)
        if not verdict.allowed:
            raise RateLimited("Too many scans; wait before scanning again.", verdict.retry_after)
        coupon = conn.execute(
            """
            SELECT c.id, c.status, b.points, b.expires_at
            FROM coupons c JOIN batches b ON b.id = c.batch_id
            WHERE c.token = ?
            """,
            (token,),
        ).fetchone()
        if coupon is None or coupon["status"] == "void":
            raise CouponNotFound("No coupon has that token.")
        if coupon["status"] == "redeemed":
            raise CouponAlreadyRedeemed("This coupon has already been redeemed.")
        if coupon["expires_at"] is not None and coupon["expires_at"] < now:
            raise CouponExpired("This coupon has expired.")
        try:
            scan_id = conn.execute(
                "INSERT INTO scans (coupon_id, user_id, created_at) VALUES (?, ?, ?) RETURNING id",
                (coupon["id"], user_id, now),
            ).fetchone()[0]
        except sqlite3.IntegrityError:
            raise CouponAlreadyRedeemed("This coupon has already been redeemed.") from None
        conn.execute("UPDATE coupons SET status = 'redeemed' WHERE id = ?", (coupon["id"],))
        conn.execute(
            "INSERT INTO ledger_entries (user_id, kind, points, scan_id, created_at) VALUES (?, 'scan', ?, ?, ?)",
            (user_id, coupon["points"], scan_id, now),
        )
        balance = conn.execute(
            "UPDATE users SET balance = balance + ?, scans = scans + 1 WHERE id = ? RETURNING balance",
            (coupon["points"], user_id),
        ).fetchone()[0]
    return Redemption(scan_id, token, coupon["points"], balance, now)


@bp.post("/scan")
@require_user
def scan():
    token = validation.coupon_token(validation.json_body())
    redemption = redeem_coupon(get_db(), g.user["id"], token, clock.now(), current_app.config["SCAN_RATE_LIMIT"])
    return {
        "scan_id": redemption.scan_id,
        "token": redemption.token,
        "points": redemption.points,
        "balance": redemption.balance,
        "redeemed_at": clock.to_rfc3339(redemption.redeemed_at),
    }
