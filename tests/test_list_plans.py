"""Filtered lists choose their index: each filter has its own fixed statement, whose plan on
either engine reads the index the filter names (payouts_by_user, payouts_by_status,
audit_by_action, audit_by_operator, and the console's queue of pending payouts), and the pages
are what they were: newest first, paged by `before`."""

from __future__ import annotations

import pytest

from rewards.audit import PAGE_STATEMENTS as AUDIT_PAGES
from rewards.ledger.service import OWN_WALLET, WALLET
from rewards.payouts.queue import PENDING_STATEMENT
from rewards.payouts.service import PAGE_STATEMENTS as PAYOUT_PAGES

from .support.client import ADMIN_KEY, bearer

ADMIN = {"X-API-Key": ADMIN_KEY}
# Enough rows of one user, one status and one action that reading them to find another's is
# plainly the worse plan; ANALYZE then gives PostgreSQL's planner the figures.
CROWD = 5_000
_NUMBERS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "


def crowd(db, user_id: int) -> None:
    """CROWD approved payouts of `user_id` and CROWD audit entries of one action and operator."""
    db.execute(
        _NUMBERS + "INSERT INTO payouts (user_id, points, status, created_at, decided_at, operator, reference) "
        "SELECT ?, 1, 'approved', 1, 2, 'admin', 'bulk' FROM n",
        (CROWD, user_id),
    )
    db.execute(
        _NUMBERS + "INSERT INTO audit_log (at, operator, action, target, reason, details) "
        "SELECT 1, 'admin', 'user.adjust', 'user:1', 'bulk', '{}' FROM n",
        (CROWD,),
    )
    if db.engine == "postgresql":
        db.execute("ANALYZE payouts")
        db.execute("ANALYZE audit_log")


def plan(db, sql: str, params: dict) -> str:
    if db.engine == "sqlite":
        return "\n".join(row["detail"] for row in db.execute("EXPLAIN QUERY PLAN " + sql, params))
    return "\n".join(row[0] for row in db.execute("EXPLAIN " + sql, params))


def new_user(api) -> tuple[int, str]:
    access_token, user = api.login()
    return user["id"], access_token


def test_each_filtered_list_reads_its_index(api, db):
    crowded, _ = new_user(api)
    empty, _ = new_user(api)
    crowd(db, crowded)
    common = {"before": 2**62, "limit": 21}
    cases = [
        (PAYOUT_PAGES[False, True], {"user": empty}, "payouts_by_user"),
        (PAYOUT_PAGES[True, False], {"status": "pending"}, "payouts_by_status"),
        (AUDIT_PAGES[True, False], {"action": "payout.reject"}, "audit_by_action"),
        (AUDIT_PAGES[False, True], {"operator": "carol"}, "audit_by_operator"),
        (PENDING_STATEMENT, {"after": 0}, "payouts_by_status"),
    ]
    for sql, params, index in cases:
        used = plan(db, sql, {**common, "status": None, "user": None, "action": None, "operator": None, **params})
        assert index in used, f"{index} not in the plan of {sql}:\n{used}"


def test_filtered_pages_are_newest_first_and_page_by_before(api, db):
    first, first_token = new_user(api)
    second, second_token = new_user(api)
    crowd(db, second)
    assert api.call("POST", f"/users/{first}/adjustments", {"points": 100, "reason": "welcome"}, ADMIN).status == 201
    made = []
    for points in (1, 2, 3):
        reply = api.call("POST", "/users/me/payouts", {"points": points}, bearer(first_token))
        assert reply.status == 201, reply.body
        made.append(reply.body["payout"]["id"])
    rejected = made[1]
    assert api.call("POST", f"/payouts/{rejected}/reject", {"reason": "duplicate"}, ADMIN).status == 200

    mine = api.call("GET", "/users/me/payouts?limit=2", headers=bearer(first_token)).body
    assert [p["id"] for p in mine["payouts"]] == [made[2], made[1]] and mine["next_before"] == made[1]
    rest = api.call("GET", f"/users/me/payouts?limit=2&before={made[1]}", headers=bearer(first_token)).body
    assert [p["id"] for p in rest["payouts"]] == [made[0]] and rest["next_before"] is None
    by_operator = api.call("GET", f"/users/{first}/payouts", headers=ADMIN).body
    assert [p["id"] for p in by_operator["payouts"]] == made[::-1]
    nobody = api.call("GET", "/users/me/payouts", headers=bearer(second_token)).body
    assert len(nobody["payouts"]) == 20 and all(p["user_id"] == second for p in nobody["payouts"])

    pending = api.call("GET", "/payouts?status=pending", headers=ADMIN).body
    assert [p["id"] for p in pending["payouts"]] == [made[2], made[0]]
    rejected_page = api.call("GET", "/payouts?status=rejected", headers=ADMIN).body
    assert [p["id"] for p in rejected_page["payouts"]] == [rejected]
    approved = api.call("GET", "/payouts?status=approved&limit=3", headers=ADMIN).body
    ids = [p["id"] for p in approved["payouts"]]
    assert ids == sorted(ids, reverse=True) and approved["next_before"] == ids[-1]

    rejections = api.call("GET", "/audit?action=payout.reject", headers=ADMIN).body
    assert [e["target"] for e in rejections["entries"]] == [f"payout:{rejected}"]
    adjustments = api.call("GET", "/audit?action=user.adjust&limit=2", headers=ADMIN).body
    ids = [e["id"] for e in adjustments["entries"]]
    assert len(ids) == 2 and ids[0] > ids[1] and adjustments["next_before"] == ids[1]
    everything = api.call("GET", "/audit?limit=1", headers=ADMIN).body
    assert everything["entries"][0]["action"] == "payout.reject"


def test_a_wallet_page_in_one_statement_reads_its_index(api, db):
    # The user owns most of the ledger and another's entries are the newest: with a plain
    # user_id = ?, PostgreSQL would walk the primary key down through all of those
    # (ledger/service.py), the more of them the slower.
    mine, _ = new_user(api)
    other, _ = new_user(api)
    bulk = (
        _NUMBERS
        + "INSERT INTO ledger_entries (user_id, kind, points, reason, created_at) SELECT ?, 'adjustment', 1, 'bulk', 1 FROM n"
    )
    db.execute(bulk, (CROWD, mine))
    db.execute(bulk, (CROWD // 5, other))
    if db.engine == "postgresql":
        db.execute("ANALYZE ledger_entries")
    params = {"user": mine, "instance": "any", "before": 2**62, "limit": 21}
    for statement in (OWN_WALLET, WALLET):  # the bearer's own, and the pages' and console's
        used = plan(db, statement[db.engine], params)
        assert "ledger_by_user" in used, used
        if db.engine == "sqlite":  # the page comes in the index's order: nothing to sort
            assert "TEMP B-TREE" not in used, used


@pytest.mark.parametrize("action", ["batch.create", "payout.approve"])
def test_an_action_with_no_entries_is_an_empty_page(api, action):
    assert api.call("GET", f"/audit?action={action}", headers=ADMIN).body == {"entries": [], "next_before": None}
