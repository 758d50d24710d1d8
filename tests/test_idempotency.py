"""Idempotent retries: the first answer is kept with its key and given again, nothing is done
twice, and a key is never a way to get another request's answer."""

from __future__ import annotations

import json

import pytest

from rewards import clock, idempotency

from .support.client import ADMIN_KEY, Api, TestClientTransport, assert_problem, bearer
from .support.invariants import assert_invariants

ADMIN = {"X-API-Key": ADMIN_KEY}


def keyed(access_token: str | None, key: str) -> dict[str, str]:
    return {**(bearer(access_token) if access_token else ADMIN), "Idempotency-Key": key}


def test_a_retried_scan_is_redeemed_once_and_answered_alike(api, db):
    access_token, _ = api.login()
    (coupon,) = api.generate(1, points=10)
    first = api.call("POST", "/scan", {"token": coupon}, keyed(access_token, "scan-1"))
    again = api.call("POST", "/scan", {"token": coupon}, keyed(access_token, "scan-1"))
    assert first.status == again.status == 200
    assert again.data == first.data
    assert "Idempotent-Replayed" not in first.headers and again.headers["Idempotent-Replayed"] == "true"
    assert again.mimetype == "application/json"
    assert db.scalar("SELECT count(*) FROM scans") == 1
    assert api.wallet(access_token).body["points"] == 10
    assert_invariants(db)


def test_the_body_is_compared_as_json_not_as_bytes(api, db):
    access_token, _ = api.login()
    (coupon,) = api.generate(1)
    raw = {**keyed(access_token, "k"), "Content-Type": "application/json"}
    first = api.client.post("/scan", data=f'{{"token": "{coupon}", "device_id": "a"}}', headers=raw)
    again = api.client.post("/scan", data=f'{{ "device_id":"a",  "token":"{coupon}" }}', headers=raw)
    assert first.status_code == again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"


def test_a_number_is_compared_as_a_number_not_as_written(api, db):
    raw = {**keyed(None, "batch"), "Content-Type": "application/json"}
    first = api.client.post("/coupons/generate", data='{"count": 2, "points": 10}', headers=raw)
    again = api.client.post("/coupons/generate", data='{"count": 2.0, "points": 1e1}', headers=raw)
    assert first.status_code == again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()
    other = api.client.post("/coupons/generate", data='{"count": 3, "points": 10}', headers=raw)
    assert_problem(other, 422, "idempotency_key_reused")
    assert db.scalar("SELECT count(*) FROM coupons") == 2


def test_true_is_not_the_number_1_and_a_deep_body_is_answered(api, db):
    access_token, _ = api.login()
    first, second = api.generate(2)
    keys = keyed(access_token, "deep")
    deep = {"token": first, "extra": json.loads("[" * 600 + "1.0" + "]" * 600)}
    assert api.call("POST", "/scan", deep, keys).status == 200
    again = api.call("POST", "/scan", {**deep, "extra": json.loads("[" * 600 + "1" + "]" * 600)}, keys)
    assert again.status == 200 and again.headers["Idempotent-Replayed"] == "true"
    flagged = keyed(access_token, "flag")
    assert api.call("POST", "/scan", {"token": second, "extra": 1}, flagged).status == 200
    assert_problem(api.call("POST", "/scan", {"token": second, "extra": True}, flagged), 422, "idempotency_key_reused")


def test_a_refusal_is_kept_too_and_given_again(api, db):
    access_token, _ = api.login()
    (coupon,) = api.generate(1)
    assert api.scan(access_token, coupon).status == 200
    first = api.call("POST", "/scan", {"token": coupon}, keyed(access_token, "late"))
    again = api.call("POST", "/scan", {"token": coupon}, keyed(access_token, "late"))
    assert_problem(first, 409, "coupon_already_redeemed")
    assert_problem(again, 409, "coupon_already_redeemed")
    assert again.data == first.data and again.headers["Idempotent-Replayed"] == "true"


def test_the_same_key_with_another_body_or_path_is_a_422(api, db):
    access_token, user = api.login()
    first, second = api.generate(2)
    assert api.call("POST", "/scan", {"token": first}, keyed(access_token, "k")).status == 200
    reused = api.call("POST", "/scan", {"token": second}, keyed(access_token, "k"))
    assert_problem(reused, 422, "idempotency_key_reused")
    api.call("POST", f"/users/{user['id']}/adjustments", {"points": 50, "reason": "x"}, ADMIN)
    elsewhere = api.call("POST", "/users/me/payouts", {"points": 5}, keyed(access_token, "k"))
    assert_problem(elsewhere, 422, "idempotency_key_reused")
    assert db.scalar("SELECT count(*) FROM scans") == 1 and db.scalar("SELECT count(*) FROM payouts") == 0


def test_keys_belong_to_their_caller(api, db):
    alice, _ = api.login()
    bob, _ = api.login()
    first, second = api.generate(2)
    assert api.call("POST", "/scan", {"token": first}, keyed(alice, "same")).status == 200
    theirs = api.call("POST", "/scan", {"token": second}, keyed(bob, "same"))
    assert theirs.status == 200 and "Idempotent-Replayed" not in theirs.headers
    assert api.wallet(bob).body["scans"] == 1


def test_a_rate_limited_answer_is_not_kept(make_app, db):
    api = Api(TestClientTransport(make_app(SCAN_RATE_LIMIT="1 per minute").test_client()))
    access_token, _ = api.login()
    first, second = api.generate(2)
    assert api.scan(access_token, first).status == 200
    for _ in range(2):
        reply = api.call("POST", "/scan", {"token": second}, keyed(access_token, "busy"))
        assert_problem(reply, 429, "rate_limited")
        assert "Idempotent-Replayed" not in reply.headers  # carried out afresh, and limited afresh
    assert db.scalar("SELECT count(*) FROM idempotency_keys") == 0


def test_a_key_is_kept_for_24_hours(api, db, monkeypatch):
    access_token, _ = api.login()
    first, second = api.generate(2)
    now = clock.now()
    assert api.call("POST", "/scan", {"token": first}, keyed(access_token, "day")).status == 200
    monkeypatch.setattr(clock, "now", lambda: now + 86_399)
    assert api.call("POST", "/scan", {"token": first}, keyed(access_token, "day")).headers["Idempotent-Replayed"]
    monkeypatch.setattr(clock, "now", lambda: now + 86_401)
    fresh = api.call("POST", "/scan", {"token": second}, keyed(access_token, "day"))
    assert fresh.status == 200 and "Idempotent-Replayed" not in fresh.headers


def test_a_retried_payout_holds_its_points_once(api, db):
    access_token, user = api.login()
    api.call("POST", f"/users/{user['id']}/adjustments", {"points": 100, "reason": "bonus"}, ADMIN)
    replies = [api.call("POST", "/users/me/payouts", {"points": 60}, keyed(access_token, "p")) for _ in range(3)]
    assert [r.status for r in replies] == [201, 201, 201]
    assert replies[1].data == replies[0].data == replies[2].data
    assert api.wallet(access_token).body["points"] == 40
    assert db.scalar("SELECT count(*) FROM payouts") == 1
    assert_invariants(db)


def test_a_retried_adjustment_and_a_retried_batch_happen_once(api, db):
    _, user = api.login()
    body = {"points": 25, "reason": "refund of a torn coupon"}
    first = api.call("POST", f"/users/{user['id']}/adjustments", body, keyed(None, "adj-1"))
    again = api.call("POST", f"/users/{user['id']}/adjustments", body, keyed(None, "adj-1"))
    assert first.status == again.status == 201 and again.data == first.data
    assert db.scalar("SELECT balance FROM users WHERE id = ?", (user["id"],)) == 25
    made = api.call("POST", "/coupons/generate", {"count": 3}, keyed(None, "batch-1"))
    remade = api.call("POST", "/coupons/generate", {"count": 3}, keyed(None, "batch-1"))
    assert made.status == remade.status == 201 and remade.body == made.body
    assert db.scalar("SELECT count(*) FROM coupons") == 3
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'batch.create'") == 1
    assert_invariants(db)


@pytest.mark.parametrize("key", ["", "k" * 256, "tab\there", "é-accent"])
def test_a_bad_idempotency_key_is_a_400(api, db, key):
    access_token, _ = api.login()
    (coupon,) = api.generate(1)
    headers = {**bearer(access_token), "Idempotency-Key": key}
    reply = api.client.post("/scan", json={"token": coupon}, headers=headers)
    assert "Idempotency-Key" in assert_problem(reply, 400, "invalid_request")["detail"]
    assert db.scalar("SELECT count(*) FROM scans") == 0


def test_a_key_of_255_printable_characters_is_accepted(api):
    access_token, _ = api.login()
    (coupon,) = api.generate(1)
    key = "".join(chr(32 + i % 95) for i in range(255))
    assert api.call("POST", "/scan", {"token": coupon}, keyed(access_token, key)).status == 200


def test_a_refused_payout_is_kept_with_its_key_and_changes_nothing(api, db):
    access_token, user = api.login()
    api.call("POST", f"/users/{user['id']}/adjustments", {"points": 10, "reason": "bonus"}, ADMIN)
    first = api.call("POST", "/users/me/payouts", {"points": 50}, keyed(access_token, "too-much"))
    again = api.call("POST", "/users/me/payouts", {"points": 50}, keyed(access_token, "too-much"))
    assert_problem(first, 409, "insufficient_points")
    assert_problem(again, 409, "insufficient_points")
    assert again.headers["Idempotent-Replayed"] == "true" and again.data == first.data
    assert api.wallet(access_token).body["points"] == 10
    assert db.scalar("SELECT count(*) FROM payouts") == 0
    assert_invariants(db)


def test_expired_keys_of_every_caller_are_purged_now_and_then(api, db, monkeypatch):
    alice, _ = api.login()
    bob, _ = api.login()
    first, second = api.generate(2)
    now = clock.now()
    assert api.call("POST", "/scan", {"token": first}, keyed(alice, "old")).status == 200
    monkeypatch.setattr(clock, "now", lambda: now + 86_401)
    monkeypatch.setattr(idempotency, "PURGE_CHANCE", 1.0)  # the 1-in-256 draw, made certain
    assert api.call("POST", "/scan", {"token": second}, keyed(bob, "new")).status == 200
    assert [tuple(r) for r in db.execute("SELECT caller, key FROM idempotency_keys")] == [
        (f"user:{db.scalar('SELECT max(id) FROM users')}", "new")
    ]
