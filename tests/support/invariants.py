"""The rules that must hold after anything, on either engine: checked after every race."""

from __future__ import annotations

from .engines import Probe


def assert_invariants(db: Probe) -> None:
    """No coupon redeemed twice; every redeemed coupon has its standing scan and every standing
    scan its coupon; every balance equals the sum of its ledger and is not negative, every scan
    count its standing scans; held points equal the pending payouts, a rejected payout was
    refunded once and an approved one never; the running totals agree with the rows."""
    if db.engine == "sqlite":
        assert db.scalar("PRAGMA integrity_check") == "ok"
    standing = "SELECT coupon_id, user_id FROM scans WHERE reversed_at IS NULL"
    assert db.execute(f"SELECT coupon_id FROM ({standing}) s GROUP BY coupon_id HAVING count(*) > 1").fetchall() == []
    assert db.scalar(f"SELECT count(*) FROM ({standing}) s") == db.scalar(
        "SELECT count(*) FROM coupons WHERE status = 'redeemed'"
    )
    assert (
        db.scalar(
            f"SELECT count(*) FROM ({standing}) s JOIN coupons c ON c.id = s.coupon_id WHERE c.status <> 'redeemed'"
        )
        == 0
    )
    mismatched = db.execute(
        f"""
        SELECT u.id FROM users u
        LEFT JOIN (SELECT user_id, sum(points) AS total FROM ledger_entries GROUP BY user_id) l ON l.user_id = u.id
        LEFT JOIN (SELECT user_id, count(*) AS n FROM ({standing}) s GROUP BY user_id) s ON s.user_id = u.id
        WHERE u.balance <> coalesce(l.total, 0) OR u.scans <> coalesce(s.n, 0) OR u.balance < 0
        """
    ).fetchall()
    assert mismatched == []
    # Each payout's entries: its hold, and a refund if and only if it was rejected.
    wrong_payouts = db.execute(
        """
        SELECT p.id FROM payouts p
        LEFT JOIN (SELECT payout_id, sum(CASE WHEN kind = 'payout' THEN -points ELSE 0 END) AS held,
                          sum(CASE WHEN kind = 'payout_refund' THEN points ELSE 0 END) AS refunded,
                          sum(CASE WHEN kind = 'payout_refund' THEN 1 ELSE 0 END) AS refunds
                   FROM ledger_entries WHERE payout_id IS NOT NULL GROUP BY payout_id) l ON l.payout_id = p.id
        WHERE coalesce(l.held, 0) <> p.points
           OR coalesce(l.refunds, 0) <> CASE WHEN p.status = 'rejected' THEN 1 ELSE 0 END
           OR coalesce(l.refunded, 0) <> CASE WHEN p.status = 'rejected' THEN p.points ELSE 0 END
        """
    ).fetchall()
    assert wrong_payouts == []
    assert db.scalar("SELECT count(*) FROM ledger_entries WHERE kind = 'reversal'") == db.scalar(
        "SELECT count(*) FROM scans WHERE reversed_at IS NOT NULL"
    )
    assert_tallies_match_rows(db)


def assert_tallies_match_rows(db: Probe) -> None:
    """The running totals that batch counts and GET /stats read agree with the rows they count."""
    drifted = db.execute(
        """
        SELECT b.id FROM batches b
        LEFT JOIN (SELECT batch_id, sum(redeemed) AS redeemed, sum(voided) AS voided
                   FROM batch_tallies GROUP BY batch_id) t ON t.batch_id = b.id
        LEFT JOIN (SELECT batch_id, sum(CASE WHEN status = 'redeemed' THEN 1 ELSE 0 END) AS redeemed,
                          sum(CASE WHEN status = 'void' THEN 1 ELSE 0 END) AS voided
                   FROM coupons GROUP BY batch_id) c ON c.batch_id = b.id
        WHERE coalesce(t.redeemed, 0) <> coalesce(c.redeemed, 0) OR coalesce(t.voided, 0) <> coalesce(c.voided, 0)
        """
    ).fetchall()
    assert drifted == []
    assert db.scalar("SELECT coalesce(sum(value), 0) FROM stat_tallies WHERE name = 'users'") == db.scalar(
        "SELECT count(*) FROM users"
    )
    assert db.scalar("SELECT coalesce(sum(scans), 0) FROM scan_days") == db.scalar("SELECT count(*) FROM scans")
    counters = {
        "points.reversed": "SELECT coalesce(-sum(points), 0) FROM ledger_entries WHERE kind = 'reversal'",
        "points.adjusted": "SELECT coalesce(sum(points), 0) FROM ledger_entries WHERE kind = 'adjustment'",
        "points.pending_payouts": "SELECT coalesce(sum(points), 0) FROM payouts WHERE status = 'pending'",
        "points.paid_out": "SELECT coalesce(sum(points), 0) FROM payouts WHERE status = 'approved'",
    }
    for name, recount in counters.items():
        kept = db.scalar("SELECT coalesce(sum(value), 0) FROM stat_tallies WHERE name = ?", (name,))
        assert kept == db.scalar(recount), name
