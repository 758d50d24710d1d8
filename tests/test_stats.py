"""GET /stats: the programme at a glance, from running totals that must agree with the rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rewards import clock

from .support.client import ADMIN_KEY, assert_problem
from .support.invariants import assert_invariants

ADMIN = {"X-API-Key": ADMIN_KEY}
DAY = 86_400


def stats(api) -> dict:
    reply = api.call("GET", "/stats", headers=ADMIN)
    assert reply.status == 200, reply.body
    return reply.body


def test_an_empty_programme_counts_nothing_over_thirty_days(api):
    body = stats(api)
    assert body["coupons"] == {"issued": 0, "active": 0, "redeemed": 0, "expired": 0, "void": 0}
    assert body["users"] == 0
    assert body["points"] == {
        "outstanding": 0,
        "credited": 0,
        "reversed": 0,
        "adjusted": 0,
        "pending_payouts": 0,
        "paid_out": 0,
    }
    days = body["scans_per_day"]
    today = datetime.now(UTC).date()
    assert [d["date"] for d in days] == [(today - timedelta(days=n)).isoformat() for n in range(29, -1, -1)]
    assert {d["scans"] for d in days} == {0}


def test_coupons_users_and_points_are_counted_as_the_rows_say(api, db):
    alice, _ = api.login()
    bob, _ = api.login()
    api.login()  # a user who never scans still counts
    spring = api.generate(5, points=10)
    autumn = api.generate(3, points=4, expires_at="2099-01-01T00:00:00Z")
    assert api.scan(alice, spring[0]).status == 200
    assert api.scan(bob, spring[1]).status == 200
    assert api.scan(alice, autumn[0]).status == 200
    assert api.scan(alice, spring[1]).status == 409  # a refused scan counts nothing
    assert api.call("POST", f"/coupons/{spring[2]}/void", {"reason": "torn"}, ADMIN).status == 200
    autumn_id = db.scalar("SELECT max(id) FROM batches")
    db.execute("UPDATE batches SET expires_at = ? WHERE id = ?", (clock.now() - 60, autumn_id))

    body = stats(api)
    assert body["coupons"] == {"issued": 8, "active": 2, "redeemed": 3, "expired": 2, "void": 1}
    assert body["users"] == 3
    assert body["points"]["credited"] == 24
    assert body["points"]["outstanding"] == 24 == db.scalar("SELECT sum(balance) FROM users")
    assert body["scans_per_day"][-1]["scans"] == 3
    assert_invariants(db)


def test_a_voided_batch_counts_its_redeemed_coupons_as_redeemed(api, db):
    alice, _ = api.login()
    coupons = api.generate(4)
    assert api.scan(alice, coupons[0]).status == 200
    batch_id = db.scalar("SELECT max(id) FROM batches")
    assert api.call("POST", f"/batches/{batch_id}/void", {"reason": "leaked"}, ADMIN).status == 200
    assert stats(api)["coupons"] == {"issued": 4, "active": 0, "redeemed": 1, "expired": 0, "void": 3}


def test_scans_are_counted_on_their_utc_day_for_the_last_thirty_days(api, db, monkeypatch):
    user, _ = api.login()
    coupons = api.generate(4)
    now = clock.now()
    for coupon, days_ago in zip(coupons, (30, 3, 0, 0), strict=True):
        monkeypatch.setattr(clock, "now", lambda days_ago=days_ago: now - days_ago * DAY)
        assert api.scan(user, coupon).status == 200
    monkeypatch.setattr(clock, "now", lambda: now)

    days = stats(api)["scans_per_day"]
    assert len(days) == 30
    by_date = {d["date"]: d["scans"] for d in days}
    assert by_date[_date(now)] == 2
    assert by_date[_date(now - 3 * DAY)] == 1
    assert _date(now - 30 * DAY) not in by_date  # a month ago falls out of the window
    assert sum(by_date.values()) == 3
    assert_invariants(db)


def test_stats_need_an_operator_key(api):
    assert_problem(api.call("GET", "/stats"), 401, "unauthorized")


def _date(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).date().isoformat()
