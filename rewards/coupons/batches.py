"""Coupon batches: the service behind POST /coupons/generate and gen-coupons."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from .. import audit, clock
from ..db import Transaction
from .tokens import token_runs

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
    operator: str,
    *,
    count: int,
    points: int,
    expires_at: int | None,
    label: str | None,
    now: int,
    on_chunk: Callable[[int, list[str]], None],
) -> Batch:
    """Insert a whole batch and its coupons in the caller's one transaction (POST
    /coupons/generate, at most API_MAX_COUNT), handing each chunk of new tokens to
    `on_chunk(batch_id, tokens)`. Any failure, in the insert or in `on_chunk`, leaves no half
    batch. gen-coupons builds larger batches in short transactions instead (building.py)."""
    batch_id = insert_batch(tx, count=count, points=points, expires_at=expires_at, label=label, now=now, builder=None)
    for run in token_runs(count):
        tx.insert_coupons(batch_id, run)
        on_chunk(batch_id, run)
    return announce(tx, operator, Batch(batch_id, label, count, points, expires_at, now))


def insert_batch(
    tx: Transaction,
    *,
    count: int,
    points: int,
    expires_at: int | None,
    label: str | None,
    now: int,
    builder: int | None,
) -> int:
    """The batch's row; with a `builder`, one that nothing reads until it is finished."""
    return tx.scalar(
        "INSERT INTO batches (label, count, points, expires_at, created_at, builder) VALUES (?, ?, ?, ?, ?, ?)"
        " RETURNING id",
        (label, count, points, expires_at, now, builder),
    )


def announce(tx: Transaction, operator: str, batch: Batch) -> Batch:
    """The audit entry of a batch that has just become whole, in the transaction that makes it so."""
    audit.record(tx, operator, "batch.create", f"batch:{batch.id}", None, batch.as_json(), batch.created_at)
    return batch


def tally(tx: Transaction, batch_id: int, *, redeemed: int = 0, voided: int = 0) -> None:
    """Add to the batch's counts of redeemed and voided coupons (negative to take back)."""
    shard = random.randrange(TALLY_SHARDS)
    tx.execute(_TALLY, {"batch": batch_id, "shard": shard, "redeemed": redeemed, "voided": voided})
