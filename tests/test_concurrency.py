"""Exactly once under real concurrency: two gunicorn instances (hosts) of four workers each on
one database, real HTTP, on SQLite and on PostgreSQL; the invariants checked after every race."""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from .support.client import ADMIN_KEY, bearer, fresh_phone
from .support.invariants import assert_invariants
from .support.races import answered_under_fire, login_many, race, spread

pytestmark = pytest.mark.live

ADMIN = {"X-API-Key": ADMIN_KEY}


def test_fifty_clients_race_for_one_coupon_across_hosts(hosts, db):
    first, second = hosts(2)
    next_api = spread([first.api, second.api])
    tokens = login_many(first.api, 50)
    (coupon,) = first.api.generate(1)
    statuses = race(lambda access_token: next_api().scan(access_token, coupon), tokens)
    assert statuses == {200: 1, 409: 49}
    assert db.scalar("SELECT count(*) FROM scans") == 1
    assert_invariants(db)


def test_many_users_many_coupons_every_wallet_adds_up(hosts, db):
    next_api = spread([server.api for server in hosts(2)])
    tokens = login_many(next_api(), 20)
    coupons = next_api().generate(150, points=3)
    attempts = [(t, c) for c in coupons for t in random.sample(tokens, 3)]
    random.shuffle(attempts)

    with ThreadPoolExecutor(32) as pool:
        replies = list(pool.map(lambda a: (a[0], a[1], next_api().scan(*a)), attempts))

    wins = [(t, c, r) for t, c, r in replies if r.status == 200]
    assert {r.status for _, _, r in replies} <= {200, 409}
    assert sorted(c for _, c, _ in wins) == sorted(coupons)  # every coupon once, none twice
    credited = Counter()
    for access_token, _, reply in wins:
        credited[access_token] += reply.body["points"]
    for access_token in tokens:
        assert next_api().wallet(access_token).body["points"] == credited[access_token]
    assert_invariants(db)


def test_twenty_verifies_of_one_right_code_give_exactly_one_token(hosts):
    next_api = spread([server.api for server in hosts(2)])
    phone = fresh_phone()
    code = next_api().request_otp(phone).body["otp"]
    statuses = race(lambda _: next_api().call("POST", "/auth/verify", {"phone": phone, "otp": code}), range(20))
    assert statuses == {200: 1, 401: 19}


def test_twenty_wrong_guesses_count_exactly_max_attempts(hosts, db):
    next_api = spread([server.api for server in hosts(2, OTP_MAX_ATTEMPTS="5")])
    phone = fresh_phone()
    code = next_api().request_otp(phone).body["otp"]
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    statuses = race(lambda _: next_api().call("POST", "/auth/verify", {"phone": phone, "otp": wrong}), range(20))
    # Four wrong codes are counted and refused, the fifth burns the code; the rest find it burned.
    assert statuses == {401: 4, 429: 16}
    assert db.scalar("SELECT attempts FROM otp_codes WHERE phone = ?", (phone,)) == 5
    burned = next_api().call("POST", "/auth/verify", {"phone": phone, "otp": code})
    assert burned.status == 429 and burned.body["code"] == "too_many_attempts"


def test_otp_send_limit_holds_across_hosts(hosts):
    next_api = spread([server.api for server in hosts(2, OTP_SEND_LIMIT="5")])
    phone = fresh_phone()
    statuses = race(lambda _: next_api().request_otp(phone), range(30))
    assert statuses == {200: 5, 429: 25}


def test_scan_rate_limit_holds_across_hosts(hosts, db):
    next_api = spread([server.api for server in hosts(2, SCAN_RATE_LIMIT="10 per minute")])
    access_token = next_api().login().access_token
    coupons = next_api().generate(30)
    statuses = race(lambda coupon: next_api().scan(access_token, coupon), coupons)
    assert statuses == {200: 10, 429: 20}
    assert_invariants(db)


def test_auth_address_limit_holds_across_hosts(hosts):
    next_api = spread([server.api for server in hosts(2, AUTH_IP_RATE_LIMIT="10 per hour")])
    statuses = race(lambda _: next_api().request_otp(fresh_phone()), range(30))
    assert statuses == {200: 10, 429: 20}


def test_sigkilled_workers_lose_no_answered_redemption(gunicorn, db):
    server = gunicorn(workers=4)
    access_tokens = login_many(server.api, 16)
    coupons = server.api.generate(10_000)

    def kill_workers() -> None:
        for _ in range(3):
            time.sleep(0.8)
            os.kill(random.choice(server.workers()), signal.SIGKILL)

    won, failures = answered_under_fire(lambda: server.api, access_tokens, coupons, kill_workers, seconds=4.0)
    assert set(failures) <= {"dropped", 502, 503}, failures
    assert len(won) > 50
    redeemed = {r[0] for r in db.execute("SELECT c.token FROM scans s JOIN coupons c ON c.id = s.coupon_id")}
    assert {coupon for _, coupon in won} <= redeemed
    assert server.api.call("GET", "/health").status == 200  # the master replaced the dead workers
    assert_invariants(db)


def test_a_batch_voided_while_fifty_clients_scan_it(hosts, db):
    """Every coupon ends redeemed (its scan answered 200) or void, never both, and the batch's
    counts add up."""
    next_api = spread([server.api for server in hosts(2)])
    tokens = login_many(next_api(), 50)
    coupons = next_api().generate(300)
    batch_id = db.scalar("SELECT id FROM batches")
    attempts = list(zip(tokens * 6, coupons, strict=True))
    random.shuffle(attempts)
    admin = {"X-API-Key": ADMIN_KEY}

    def scan_or_void(attempt):
        if attempt is None:
            time.sleep(0.05)
            return next_api().call("POST", f"/batches/{batch_id}/void", {"reason": "leaked mid-promo"}, admin)
        return next_api().scan(*attempt)

    with ThreadPoolExecutor(51) as pool:
        replies = list(pool.map(scan_or_void, [None, *attempts]))
    void_reply, scan_replies = replies[0], replies[1:]
    assert void_reply.status == 200
    assert {r.status for r in scan_replies} <= {200, 410}
    won = {coupon for (_, coupon), reply in zip(attempts, scan_replies, strict=True) if reply.status == 200}
    status = dict(db.execute("SELECT token, status FROM coupons").fetchall())
    assert {c for c, s in status.items() if s == "redeemed"} == won
    assert {c for c, s in status.items() if s == "void"} == set(coupons) - won
    counts = next_api().call("GET", f"/batches/{batch_id}", headers=admin).body["coupons"]
    assert counts == {"active": 0, "redeemed": len(won), "expired": 0, "void": 300 - len(won)}
    assert_invariants(db)


def test_fifty_payouts_race_for_one_balance_and_exactly_two_are_held(hosts, db):
    next_api = spread([server.api for server in hosts(2)])
    access_token, user = next_api().login()
    give = {"points": 250, "reason": "race"}
    assert next_api().call("POST", f"/users/{user['id']}/adjustments", give, ADMIN).status == 201
    statuses = race(
        lambda _: next_api().call("POST", "/users/me/payouts", {"points": 100}, bearer(access_token)), range(50)
    )
    assert statuses == {201: 2, 409: 48}
    assert next_api().wallet(access_token).body["points"] == 50
    assert db.scalar("SELECT count(*) FROM payouts") == 2
    assert_invariants(db)


def test_a_reversal_racing_a_payout_for_the_same_points_lets_one_win(hosts, db):
    next_api = spread([server.api for server in hosts(2)])
    outcomes = Counter()
    for _ in range(5):
        access_token, _ = next_api().login()
        (coupon,) = next_api().generate(1, points=10)
        scan_id = next_api().scan(access_token, coupon).body["scan_id"]
        moves = [
            ("POST", f"/scans/{scan_id}/reverse", {"reason": "fraud"}, ADMIN),
            ("POST", "/users/me/payouts", {"points": 10}, bearer(access_token)),
        ]
        statuses = race(lambda move: next_api().call(*move), moves)
        assert sorted(statuses.elements()) in ([200, 409], [201, 409]), statuses
        outcomes.update(statuses)
        assert next_api().wallet(access_token).body["points"] == 0
    assert outcomes[409] == 5
    assert_invariants(db)


def test_thirty_retries_of_one_scan_with_one_key_redeem_once_and_answer_alike(hosts, db):
    next_api = spread([server.api for server in hosts(2)])
    access_token, _ = next_api().login()
    (coupon,) = next_api().generate(1, points=10)
    headers = {**bearer(access_token), "Idempotency-Key": "3f1c9a54-retry"}
    replies = []

    def retry(_):
        reply = next_api().call("POST", "/scan", {"token": coupon}, headers)
        replies.append(reply)
        return reply

    statuses = race(retry, range(30))
    assert statuses == {200: 30}
    assert len({reply.data for reply in replies}) == 1
    assert sum(reply.headers.get("Idempotent-Replayed") == "true" for reply in replies) == 29
    assert db.scalar("SELECT count(*) FROM scans") == 1
    assert next_api().wallet(access_token).body["points"] == 10
    assert_invariants(db)


def test_an_approval_racing_a_rejection_decides_a_payout_once(hosts, db):
    next_api = spread([server.api for server in hosts(2)])
    access_token, user = next_api().login()
    next_api().call("POST", f"/users/{user['id']}/adjustments", {"points": 100, "reason": "race"}, ADMIN)
    for _ in range(5):
        payout_id = (
            next_api().call("POST", "/users/me/payouts", {"points": 10}, bearer(access_token)).body["payout"]["id"]
        )
        decisions = [
            ("POST", f"/payouts/{payout_id}/approve", {"reference": "T-1"}, ADMIN),
            ("POST", f"/payouts/{payout_id}/reject", {"reason": "duplicate"}, ADMIN),
        ]
        statuses = race(lambda decision: next_api().call(*decision), decisions)
        assert statuses == {200: 1, 409: 1}
    assert db.scalar("SELECT count(*) FROM payouts WHERE status = 'pending'") == 0
    assert_invariants(db)
