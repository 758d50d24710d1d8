"""Withdrawing coupons: one, or every coupon of a batch that is not redeemed, with the audit
entry in the same transaction."""

from __future__ import annotations

from .. import audit
from ..db import Transaction
from ..exceptions import BatchNotFound, CouponAlreadyRedeemed, CouponNotFound
from .batches import tally


def void_coupon(tx: Transaction, operator: str, token: str, reason: str, now: int) -> None:
    """Void an active (or expired) coupon. One already void is left as it is, and no entry is
    written: nothing changed."""
    coupon = tx.one(
        "SELECT c.id, c.status, c.batch_id FROM coupons c JOIN batches b ON b.id = c.batch_id"
        " WHERE c.token = ? AND b.builder IS NULL FOR NO KEY UPDATE OF c",
        (token,),
    )
    if coupon is None:
        raise CouponNotFound("No coupon has that token.")
    if coupon["status"] == "void":
        return
    if coupon["status"] == "redeemed":
        raise CouponAlreadyRedeemed("This coupon has been redeemed; reverse its scan instead.")
    tx.execute(
        "UPDATE coupons SET status = 'void', voided_at = ?, void_reason = ? WHERE id = ?", (now, reason, coupon["id"])
    )
    tally(tx, coupon["batch_id"], voided=1)
    audit.record(tx, operator, "coupon.void", f"coupon:{token}", reason, {"batch_id": coupon["batch_id"]}, now)


def void_batch(tx: Transaction, operator: str, batch_id: int, reason: str, now: int) -> None:
    """Void every coupon of the batch that is not redeemed (a leaked batch, switched off in
    one call). A batch already void is left as it is."""
    # NO KEY UPDATE, not UPDATE: a scan racing this tallies into batch_tallies, whose foreign
    # key takes a KEY SHARE lock on this row while the scan holds its coupon; FOR UPDATE would
    # wait on that scan while it waits on us (a deadlock, seen under load).
    batch = tx.one(
        "SELECT id, count, voided_at FROM batches WHERE id = ? AND builder IS NULL FOR NO KEY UPDATE", (batch_id,)
    )
    if batch is None:
        raise BatchNotFound("No batch has that id.")
    if batch["voided_at"] is not None:
        return
    tx.execute("UPDATE batches SET voided_at = ?, void_reason = ? WHERE id = ?", (now, reason, batch_id))
    # Scans racing this wait for the coupon rows it locks, then find them void; those that
    # locked a coupon first are redeemed and tallied before this reads the tallies below.
    tx.execute(
        "UPDATE coupons SET status = 'void', voided_at = ?, void_reason = ? WHERE batch_id = ? AND status = 'active'",
        (now, reason, batch_id),
    )
    redeemed, voided_before = tx.one(
        "SELECT CAST(coalesce(sum(redeemed), 0) AS BIGINT), CAST(coalesce(sum(voided), 0) AS BIGINT)"
        " FROM batch_tallies WHERE batch_id = ?",
        (batch_id,),
    )
    voided_now = batch["count"] - redeemed - voided_before
    tally(tx, batch_id, voided=voided_now)
    audit.record(
        tx,
        operator,
        "batch.void",
        f"batch:{batch_id}",
        reason,
        {"coupons_voided": voided_now, "redeemed": redeemed},
        now,
    )
