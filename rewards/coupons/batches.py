"""Coupon batches: the service behind POST /coupons/generate and gen-coupons."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from .. import clock
from ..db import Transaction
from .tokens import CHUNK, new_tokens

API_MAX_COUNT = 10_000
CLI_MAX_COUNT = 1_000_000
MAX_POINTS = 1_000_000
DEFAULT_POINTS = 10
MAX_LABEL = 100
# Rows each batch's tally is spread over: concurrent scans of one batch on PostgreSQL each
# lock one of them, so they rarely wait for one another.
TALLY_SHARDS = 16

_TALLY = """
INSERT INTO batch_tallies (batch_id, shard, redeemed, voided) VALUES (:batch, :shard, :redeemed, :voided)
ON CONFLICT (batch_id, shard) DO UPDATE SET
    redeemed = batch_tallies.redeemed + :redeemed, voided = batch_tallies.voided + :voided
"""


@dataclass(frozen=True)
class Batch:
    id: int
    label: str | None
    count: int
    points: int
    expires_at: int | None
    created_at: int

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "label": self.label,
            "count": self.count,
            "points": self.points,
            "expires_at": clock.to_rfc3339(self.expires_at),
            "created_at": clock.to_rfc3339(self.created_at),
        }


def create_batch(
    tx: Transaction,
    *,
    count: int,
    points: int,
    expires_at: int | None,
    label: str | None,
    now: int,
    on_chunk: Callable[[int, list[str]], None],
) -> Batch:
    """Insert a batch and its coupons, handing each chunk of new tokens to
    `on_chunk(batch_id, tokens)` as it goes, so a million coupons never sit in memory. Run it
    in one transaction: any failure, in the insert or in `on_chunk`, then leaves no half batch."""
    batch_id = tx.scalar(
        "INSERT INTO batches (label, count, points, expires_at, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
        (label, count, points, expires_at, now),
    )
    tokens = new_tokens(count)
    remaining = count
    while remaining:
        chunk = [next(tokens) for _ in range(min(remaining, CHUNK))]
        tx.insert_coupons(batch_id, chunk)
        on_chunk(batch_id, chunk)
        remaining -= len(chunk)
    return Batch(batch_id, label, count, points, expires_at, now)


def tally(tx: Transaction, batch_id: int, *, redeemed: int = 0, voided: int = 0) -> None:
    """Add to the batch's counts of redeemed and voided coupons (negative to take back)."""
    shard = random.randrange(TALLY_SHARDS)
    tx.execute(_TALLY, {"batch": batch_id, "shard": shard, "redeemed": redeemed, "voided": voided})
