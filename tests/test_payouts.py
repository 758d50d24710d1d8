"""Points that can be spent and mistakes that can be undone: payouts, reversals and adjustments,
each with its ledger kind, its audit entry and its running totals."""

from __future__ import annotations

import csv
import io

import pytest

from .support.client import ADMIN_KEY, Api, TestClientTransport, assert_problem, bearer
from .support.invariants import assert_invariants

ADMIN = {"X-API-Key": ADMIN_KEY}


def give(api, user_id: int, points: int, reason: str = "welcome bonus") -> dict:
    reply = api.call("POST", f"/users/{user_id}/adjustments", {"points": points, "reason": reason}, ADMIN)
    assert reply.status == 201, reply.body
    return reply.body


def request_payout(api, access_token: str, points: int, headers: dict | None = None):
    return api.call("POST", "/users/me/payouts", {"points": points}, {**bearer(access_token), **(headers or {})})


def audit_actions(api) -> list[tuple[str, str]]:
    return [(e["action"], e["target"]) for e in api.call("GET", "/audit?limit=100", headers=ADMIN).body["entries"]]


def test_a_payout_holds_its_points_and_an_approval_records_the_transfer(api, db):
    access_token, user = api.login()
    give(api, user["id"], 250)
    reply = request_payout(api, access_token, 100)
    assert reply.status == 201
    payout = reply.body["payout"]
    assert reply.body["balance"] == 150
    assert payout | {"id": 0, "created_at": ""} == {
        "id": 0,
        "user_id": user["id"],
        "points": 100,
        "status": "pending",
        "created_at": "",
        "decided_at": None,
        "reference": None,
        "reason": None,
    }
    held = api.wallet(access_token).body["transactions"][0]
    assert held["kind"] == "payout" and held["points"] == -100 and held["payout_id"] == payout["id"]
    assert held["coupon_token"] is None and held["reason"] is None

    approved = api.call("POST", f"/payouts/{payout['id']}/approve", {"reference": "BANK-2026-0042"}, ADMIN)
    assert approved.status == 200
    assert approved.body["status"] == "approved" and approved.body["reference"] == "BANK-2026-0042"
    assert approved.body["decided_at"].endswith("Z")
    assert api.wallet(access_token).body["points"] == 150  # paid, not returned
    points = api.call("GET", "/stats", headers=ADMIN).body["points"]
    assert points["pending_payouts"] == 0 and points["paid_out"] == 100 and points["outstanding"] == 150
    assert audit_actions(api)[0] == ("payout.approve", f"payout:{payout['id']}")
    assert_problem(
        api.call("POST", f"/payouts/{payout['id']}/reject", {"reason": "late"}, ADMIN), 409, "payout_not_pending"
    )
    assert_invariants(db)


def test_a_rejected_payout_gives_its_points_back_once(api, db):
    access_token, user = api.login()
    give(api, user["id"], 80)
    payout = request_payout(api, access_token, 80).body["payout"]
    assert api.wallet(access_token).body["points"] == 0
    assert api.call("GET", "/stats", headers=ADMIN).body["points"]["pending_payouts"] == 80

    rejected = api.call("POST", f"/payouts/{payout['id']}/reject", {"reason": "account name mismatch"}, ADMIN)
    assert rejected.status == 200 and rejected.body["status"] == "rejected"
    assert rejected.body["reason"] == "account name mismatch" and rejected.body["reference"] is None
    wallet = api.wallet(access_token).body
    assert wallet["points"] == 80
    refund = wallet["transactions"][0]
    assert refund["kind"] == "payout_refund" and refund["points"] == 80
    assert refund["payout_id"] == payout["id"] and refund["reason"] == "account name mismatch"
    for again in ("reject", "approve"):
        body = {"reason": "again"} if again == "reject" else {"reference": "X"}
        assert_problem(api.call("POST", f"/payouts/{payout['id']}/{again}", body, ADMIN), 409, "payout_not_pending")
    assert api.wallet(access_token).body["points"] == 80
    assert [a for a, _ in audit_actions(api)].count("payout.reject") == 1
    assert_invariants(db)


def test_a_payout_is_between_the_minimum_and_the_balance(make_app, db):
    api = Api(TestClientTransport(make_app(PAYOUT_MIN_POINTS="50").test_client()))
    access_token, user = api.login()
    give(api, user["id"], 60)
    assert_problem(request_payout(api, access_token, 49), 400, "invalid_request")
    assert_problem(request_payout(api, access_token, 61), 409, "insufficient_points")
    assert request_payout(api, access_token, 60).status == 201
    assert_problem(request_payout(api, access_token, 50), 409, "insufficient_points")
    assert db.scalar("SELECT count(*) FROM payouts") == 1
    assert_invariants(db)


@pytest.mark.parametrize("points", [0, -5, 2.5, "100", None, True, 10**13, [100]])
def test_bad_payout_points_are_a_400(api, points):
    access_token, user = api.login()
    give(api, user["id"], 100)
    reply = api.call("POST", "/users/me/payouts", {"points": points}, bearer(access_token))
    assert "'points'" in assert_problem(reply, 400, "invalid_request")["detail"]
    assert api.wallet(access_token).body["points"] == 100


def test_payouts_are_listed_for_their_user_and_for_operators(api):
    alice, alice_user = api.login()
    bob, bob_user = api.login()
    give(api, alice_user["id"], 30)
    give(api, bob_user["id"], 30)
    ids = [request_payout(api, alice, 10).body["payout"]["id"] for _ in range(3)]
    bob_payout = request_payout(api, bob, 5).body["payout"]["id"]
    api.call("POST", f"/payouts/{ids[0]}/approve", {"reference": "T1"}, ADMIN)

    mine = api.call("GET", "/users/me/payouts?limit=2", headers=bearer(alice)).body
    assert [p["id"] for p in mine["payouts"]] == [ids[2], ids[1]] and mine["next_before"] == ids[1]
    rest = api.call("GET", f"/users/me/payouts?limit=2&before={ids[1]}", headers=bearer(alice)).body
    assert [p["id"] for p in rest["payouts"]] == [ids[0]] and rest["next_before"] is None
    by_id = api.call("GET", f"/users/{alice_user['id']}/payouts", headers=bearer(alice)).body
    assert [p["id"] for p in by_id["payouts"]] == ids[::-1]
    assert_problem(api.call("GET", f"/users/{bob_user['id']}/payouts", headers=bearer(alice)), 403, "forbidden")
    as_operator = api.call("GET", f"/users/{bob_user['id']}/payouts", headers=ADMIN).body
    assert [p["id"] for p in as_operator["payouts"]] == [bob_payout]
    assert_problem(api.call("GET", "/users/999999/payouts", headers=ADMIN), 404, "user_not_found")
    assert_problem(api.call("GET", "/users/me/payouts"), 401, "unauthorized")

    pending = api.call("GET", "/payouts?status=pending", headers=ADMIN).body["payouts"]
    assert [p["id"] for p in pending] == [bob_payout, ids[2], ids[1]]
    approved = api.call("GET", "/payouts?status=approved", headers=ADMIN).body["payouts"]
    assert [p["id"] for p in approved] == [ids[0]]
    assert len(api.call("GET", "/payouts", headers=ADMIN).body["payouts"]) == 4
    assert_problem(api.call("GET", "/payouts?status=paid", headers=ADMIN), 400, "invalid_request")
    assert_problem(api.call("GET", "/payouts", headers=bearer(alice)), 401, "unauthorized")


def test_the_payouts_csv_opens_in_a_spreadsheet(api):
    access_token, user = api.login()
    give(api, user["id"], 30)
    first, second, third = (request_payout(api, access_token, 10).body["payout"]["id"] for _ in range(3))
    api.call("POST", f"/payouts/{first}/approve", {"reference": '=HYPERLINK("http://x")'}, ADMIN)
    api.call("POST", f"/payouts/{second}/reject", {"reason": 'wrong IBAN, "DE00", see\nticket'}, ADMIN)

    reply = api.call("GET", "/payouts.csv", headers=ADMIN)
    assert reply.status == 200 and reply.mimetype == "text/csv"
    assert "attachment" in reply.headers["Content-Disposition"]
    assert reply.text.startswith("id,user_id,phone,points,status,created_at,decided_at,operator,reference,reason\r\n")
    rows = list(csv.DictReader(io.StringIO(reply.text, newline="")))
    assert [int(r["id"]) for r in rows] == [third, second, first]
    by_id = {int(r["id"]): r for r in rows}
    assert by_id[first]["reference"] == '\'=HYPERLINK("http://x")'  # never run as a formula
    assert by_id[first]["operator"] == "admin" and by_id[first]["status"] == "approved"
    assert by_id[second]["reason"] == 'wrong IBAN, "DE00", see\nticket'
    assert by_id[third] | {"created_at": ""} == {
        "id": str(third),
        "user_id": str(user["id"]),
        "phone": user["phone"],
        "points": "10",
        "status": "pending",
        "created_at": "",
        "decided_at": "",
        "operator": "",
        "reference": "",
        "reason": "",
    }
    pending = api.call("GET", "/payouts.csv?status=pending", headers=ADMIN).text
    assert [int(r["id"]) for r in csv.DictReader(io.StringIO(pending, newline=""))] == [third]


def test_a_reversed_scan_takes_its_points_back_and_voids_its_coupon(api, db):
    access_token, user = api.login()
    (coupon,) = api.generate(1, points=10)
    scan_id = api.scan(access_token, coupon, device_id="phone-1").body["scan_id"]

    reply = api.call("POST", f"/scans/{scan_id}/reverse", {"reason": "scanned off a stolen sheet"}, ADMIN)
    assert reply.status == 200
    body = reply.body
    assert body["scan_id"] == scan_id and body["user_id"] == user["id"] and body["points"] == 10
    assert body["balance"] == 0 and body["reversed_at"].endswith("Z")
    assert body["coupon"]["status"] == "void" and body["coupon"]["void_reason"] == "scanned off a stolen sheet"
    assert body["coupon"]["scan"]["id"] == scan_id and body["coupon"]["scan"]["reversed_at"] == body["reversed_at"]
    wallet = api.wallet(access_token).body
    assert wallet["points"] == 0 and wallet["scans"] == 0
    reversal = wallet["transactions"][0]
    assert reversal["kind"] == "reversal" and reversal["points"] == -10
    assert reversal["coupon_token"] == coupon and reversal["reason"] == "scanned off a stolen sheet"
    assert_problem(api.scan(access_token, coupon), 410, "coupon_void")
    assert_problem(
        api.call("POST", f"/scans/{scan_id}/reverse", {"reason": "again"}, ADMIN), 409, "scan_already_reversed"
    )
    batch_id = db.scalar("SELECT max(id) FROM batches")
    (row,) = csv.DictReader(io.StringIO(api.call("GET", f"/batches/{batch_id}/coupons.csv", headers=ADMIN).text))
    assert (row["status"], row["redeemed_at"], row["user_id"]) == ("void", "", "")  # a reversed scan is no redemption
    stats = api.call("GET", "/stats", headers=ADMIN).body
    assert stats["points"]["credited"] == 10 and stats["points"]["reversed"] == 10
    assert stats["points"]["outstanding"] == 0 and stats["coupons"]["void"] == 1
    assert audit_actions(api)[0] == ("scan.reverse", f"scan:{scan_id}")
    assert_invariants(db)


def test_a_restored_coupon_can_be_redeemed_once_more(api, db):
    first, _ = api.login()
    second, _ = api.login()
    (coupon,) = api.generate(1, points=7)
    scan_id = api.scan(first, coupon).body["scan_id"]
    reply = api.call("POST", f"/scans/{scan_id}/reverse", {"reason": "wrong customer", "restore": True}, ADMIN)
    assert reply.status == 200 and reply.body["coupon"]["status"] == "active"

    again = api.scan(second, coupon)
    assert again.status == 200 and again.body["balance"] == 7
    assert_problem(api.scan(first, coupon), 409, "coupon_already_redeemed")
    shown = api.call("GET", f"/coupons/{coupon}", headers=ADMIN).body
    assert shown["status"] == "redeemed" and shown["scan"]["id"] == again.body["scan_id"]
    assert shown["scan"]["reversed_at"] is None
    stats = api.call("GET", "/stats", headers=ADMIN).body
    assert stats["points"]["credited"] == 14 and stats["points"]["reversed"] == 7
    assert stats["coupons"]["redeemed"] == 1
    assert_invariants(db)


def test_a_scan_whose_points_are_spent_cannot_be_reversed(api, db):
    access_token, _ = api.login()
    (coupon,) = api.generate(1, points=10)
    scan_id = api.scan(access_token, coupon).body["scan_id"]
    assert request_payout(api, access_token, 5).status == 201
    reply = api.call("POST", f"/scans/{scan_id}/reverse", {"reason": "fraud"}, ADMIN)
    assert_problem(reply, 409, "insufficient_points")
    assert api.call("GET", f"/coupons/{coupon}", headers=ADMIN).body["status"] == "redeemed"
    assert "scan.reverse" not in [a for a, _ in audit_actions(api)]
    assert_invariants(db)


def test_a_restore_on_a_voided_batch_leaves_the_coupon_void(api, db):
    access_token, _ = api.login()
    coupons = api.generate(2)
    scan_id = api.scan(access_token, coupons[0]).body["scan_id"]
    batch_id = db.scalar("SELECT max(id) FROM batches")
    api.call("POST", f"/batches/{batch_id}/void", {"reason": "leaked"}, ADMIN)
    reply = api.call("POST", f"/scans/{scan_id}/reverse", {"reason": "leaked", "restore": True}, ADMIN)
    assert reply.status == 200 and reply.body["coupon"]["status"] == "void"
    assert api.call("GET", f"/batches/{batch_id}", headers=ADMIN).body["coupons"]["void"] == 2
    assert_invariants(db)


def test_an_adjustment_moves_a_balance_either_way_but_never_below_zero(api, db):
    access_token, user = api.login()
    added = give(api, user["id"], 120, "goodwill after a failed scan")
    assert added["balance"] == 120
    transaction = added["transaction"]
    assert transaction["kind"] == "adjustment" and transaction["points"] == 120
    assert transaction["reason"] == "goodwill after a failed scan" and transaction["coupon_token"] is None
    taken = api.call("POST", f"/users/{user['id']}/adjustments", {"points": -50, "reason": "duplicate"}, ADMIN)
    assert taken.status == 201 and taken.body["balance"] == 70
    too_much = api.call("POST", f"/users/{user['id']}/adjustments", {"points": -71, "reason": "x"}, ADMIN)
    assert_problem(too_much, 409, "insufficient_points")
    assert api.wallet(access_token).body["points"] == 70
    assert api.call("GET", "/stats", headers=ADMIN).body["points"]["adjusted"] == 70
    assert [a for a, _ in audit_actions(api)].count("user.adjust") == 2
    assert_invariants(db)


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/users/999999/adjustments", {"points": 5, "reason": "x"}, 404, "user_not_found"),
        ("/users/{user}/adjustments", {"points": 0, "reason": "x"}, 400, "invalid_request"),
        ("/users/{user}/adjustments", {"points": 1_000_000_001, "reason": "x"}, 400, "invalid_request"),
        ("/users/{user}/adjustments", {"points": -1_000_000_001, "reason": "x"}, 400, "invalid_request"),
        ("/users/{user}/adjustments", {"points": 1.5, "reason": "x"}, 400, "invalid_request"),
        ("/users/{user}/adjustments", {"points": "5", "reason": "x"}, 400, "invalid_request"),
        ("/users/{user}/adjustments", {"points": 5}, 400, "invalid_request"),
        ("/users/{user}/adjustments", {"points": 5, "reason": ""}, 400, "invalid_request"),
        ("/users/{user}/adjustments", {"points": 5, "reason": "r" * 501}, 400, "invalid_request"),
        ("/users/-1/adjustments", {"points": 5, "reason": "x"}, 400, "invalid_request"),
        ("/scans/999999/reverse", {"reason": "x"}, 404, "scan_not_found"),
        ("/scans/abc/reverse", {"reason": "x"}, 400, "invalid_request"),
        ("/scans/{scan}/reverse", {"reason": "x", "restore": "yes"}, 400, "invalid_request"),
        ("/scans/{scan}/reverse", {}, 400, "invalid_request"),
        ("/payouts/999999/approve", {"reference": "T"}, 404, "payout_not_found"),
        ("/payouts/999999/reject", {"reason": "x"}, 404, "payout_not_found"),
        ("/payouts/{payout}/approve", {"reference": ""}, 400, "invalid_request"),
        ("/payouts/{payout}/approve", {"reference": "r" * 101}, 400, "invalid_request"),
        ("/payouts/{payout}/approve", {}, 400, "invalid_request"),
        ("/payouts/{payout}/reject", {"reason": ""}, 400, "invalid_request"),
        ("/payouts/0/reject", {"reason": "x"}, 400, "invalid_request"),
    ],
)
def test_bad_operator_input_for_points_is_a_4xx_problem_that_changes_nothing(api, db, path, body, status, code):
    access_token, user = api.login()
    (coupon,) = api.generate(1)
    scan_id = api.scan(access_token, coupon).body["scan_id"]
    payout_id = request_payout(api, access_token, 5).body["payout"]["id"]
    before = api.wallet(access_token).body
    reply = api.call("POST", path.format(user=user["id"], scan=scan_id, payout=payout_id), body, ADMIN)
    assert_problem(reply, status, code)
    assert api.wallet(access_token).body == before
    assert db.scalar("SELECT status FROM payouts") == "pending"
    assert_invariants(db)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/users/1/adjustments", {"points": 5, "reason": "x"}),
        ("POST", "/scans/1/reverse", {"reason": "x"}),
        ("GET", "/payouts", None),
        ("GET", "/payouts.csv", None),
        ("POST", "/payouts/1/approve", {"reference": "x"}),
        ("POST", "/payouts/1/reject", {"reason": "x"}),
    ],
)
def test_the_operators_points_routes_need_an_operator_key(api, method, path, body):
    access_token, _ = api.login()
    for headers in ({}, bearer(access_token), {"X-API-Key": "wrong"}):
        assert_problem(api.call(method, path, body, headers), 401, "unauthorized")
