"""The programme at a glance (GET /stats), from running totals kept by the actions that change
them: the batches' tallies for coupons, named counters for users and points, and scans per UTC
day. Reading them costs the same at a million coupons and 100,000 users as at ten."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from .db import Transaction

# Rows each counter is spread over, as batch_tallies: concurrent writers on PostgreSQL each
# lock one of them.
SHARDS = 16
DAYS = 30
_DAY = 86_400

USERS = "users"
# Amounts of points, kept by the payouts and reversals that move them.
REVERSED = "points.reversed"
ADJUSTED = "points.adjusted"
PENDING_PAYOUTS = "points.pending_payouts"
PAID_OUT = "points.paid_out"

_ADD = """
INSERT INTO stat_tallies (name, shard, value) VALUES (:name, :shard, :amount)
ON CONFLICT (name, shard) DO UPDATE SET value = stat_tallies.value + :amount
"""

_COUNT_SCAN = """
INSERT INTO scan_days (day, shard, scans) VALUES (:day, :shard, 1)
ON CONFLICT (day, shard) DO UPDATE SET scans = scan_days.scans + 1
"""

# Every coupon of a batch shares its points and expiry, so the batches' tallies give every
# count; expired is what is neither redeemed nor void in a batch past its expiry.
_COUPONS = """
SELECT CAST(coalesce(sum(b.count), 0) AS BIGINT) AS issued,
       CAST(coalesce(sum(t.redeemed), 0) AS BIGINT) AS redeemed,
       CAST(coalesce(sum(t.voided), 0) AS BIGINT) AS voided,
       CAST(coalesce(sum(CASE WHEN b.expires_at < :now
                              THEN b.count - coalesce(t.redeemed, 0) - coalesce(t.voided, 0) ELSE 0 END), 0)
            AS BIGINT) AS expired,
       CAST(coalesce(sum(coalesce(t.redeemed, 0) * b.points), 0) AS BIGINT) AS redeemed_points
FROM batches b
LEFT JOIN (
    SELECT batch_id, sum(redeemed) AS redeemed, sum(voided) AS voided FROM batch_tallies GROUP BY batch_id
) t ON t.batch_id = b.id
WHERE b.builder IS NULL  -- a batch still being built is not issued yet
"""

_COUNTERS = "SELECT name, CAST(sum(value) AS BIGINT) FROM stat_tallies GROUP BY name"
_SCAN_DAYS = "SELECT day, CAST(sum(scans) AS BIGINT) FROM scan_days WHERE day > :first GROUP BY day"


def add(tx: Transaction, name: str, amount: int) -> None:
    """Add `amount` (negative to take away) to the counter `name`."""
    tx.execute(_ADD, {"name": name, "shard": random.randrange(SHARDS), "amount": amount})


def count_scan(tx: Transaction, now: int) -> None:
    tx.execute(_COUNT_SCAN, {"day": now // _DAY, "shard": random.randrange(SHARDS)})


def stats(tx: Transaction, now: int) -> dict[str, Any]:
    coupons = tx.one(_COUPONS, {"now": now})
    counters = dict(tx.all(_COUNTERS))
    today = now // _DAY
    per_day = dict(tx.all(_SCAN_DAYS, {"first": today - DAYS}))
    reversed_, adjusted = counters.get(REVERSED, 0), counters.get(ADJUSTED, 0)
    pending, paid_out = counters.get(PENDING_PAYOUTS, 0), counters.get(PAID_OUT, 0)
    # A reversed scan's coupon is no longer redeemed: its points were credited all the same.
    credited = coupons["redeemed_points"] + reversed_
    return {
        "coupons": {
            "issued": coupons["issued"],
            "active": coupons["issued"] - coupons["redeemed"] - coupons["voided"] - coupons["expired"],
            "redeemed": coupons["redeemed"],
            "expired": coupons["expired"],
            "void": coupons["voided"],
        },
        "users": counters.get(USERS, 0),
        "points": {
            # The sum of all balances: every point credited, less every point taken back,
            # held or paid out (the ledger's invariant, which the tests hold it to).
            "outstanding": credited - reversed_ + adjusted - pending - paid_out,
            "credited": credited,
            "reversed": reversed_,
            "adjusted": adjusted,
            "pending_payouts": pending,
            "paid_out": paid_out,
        },
        "scans_per_day": [
            {"date": _date(day), "scans": per_day.get(day, 0)} for day in range(today - DAYS + 1, today + 1)
        ],
    }


def _date(day: int) -> str:
    return datetime.fromtimestamp(day * _DAY, UTC).strftime("%Y-%m-%d")
