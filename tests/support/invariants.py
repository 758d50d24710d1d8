"""The rules that must hold after anything, on either engine: checked after every race."""

from __future__ import annotations

from .engines import Probe


def assert_invariants(db: Probe) -> None:
    """No coupon redeemed twice; every redeemed coupon has its scan and every scan its
    coupon; every balance equals the sum of its ledger and every scan count its scan credits."""
    if db.engine == "sqlite":
        assert db.scalar("PRAGMA integrity_check") == "ok"
    assert db.execute("SELECT coupon_id FROM scans GROUP BY coupon_id HAVING count(*) > 1").fetchall() == []
    assert db.scalar("SELECT count(*) FROM scans") == db.scalar(
        "SELECT count(*) FROM coupons WHERE status = 'redeemed'"
    )
    mismatched = db.execute(
        """
        SELECT u.id FROM users u
        LEFT JOIN (
            SELECT user_id, sum(points) AS total, sum(CASE WHEN kind = 'scan' THEN 1 ELSE 0 END) AS n
            FROM ledger_entries GROUP BY user_id
        ) l ON l.user_id = u.id
        WHERE u.balance <> coalesce(l.total, 0) OR u.scans <> coalesce(l.n, 0)
        """
    ).fetchall()
    assert mismatched == []
