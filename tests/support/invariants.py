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
