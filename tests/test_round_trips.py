"""What a request asks of the database, counted by Database.counting() (bench/profile.py's
figures): the scan's statements travel together on PostgreSQL (issue #17)."""

from __future__ import annotations

import pytest

from .support.client import Api, TestClientTransport, assert_problem, fresh_phone


@pytest.mark.engines("postgresql")
def test_a_scan_on_postgresql_takes_one_round_trip_bearer_check_included_and_three_with_a_key(app, api):
    token, _ = api.login()
    first, second, third = api.generate(3)
    assert api.scan(token, first).status == 200  # the connection is open and warm
    with app.extensions["rewards.db"].counting() as plain:
        assert api.scan(token, second).status == 200
    with app.extensions["rewards.db"].counting() as keyed:
        reply = api.call(
            "POST", "/scan", {"token": third}, {"Authorization": f"Bearer {token}", "Idempotency-Key": "k1"}
        )
        assert reply.status == 200
    # Before: 6 and 7 (the bearer check; BEGIN + the rate-limit hit; SAVEPOINT + the coupon; the
    # scan; the rest; COMMIT), then 2 (BEGIN + redeem_coupon(); COMMIT). Now redeem_coupon()
    # alone, the bearer's check inside it, its own transaction.
    assert plain.round_trips == 1 and plain.statements == 1  # issue #17's target: at most 3
    # BEGIN + the bearer's check + the key's claim; SAVEPOINT + redeem_coupon(); keeping the
    # answer + COMMIT.
    assert keyed.round_trips <= 3


@pytest.mark.engines("postgresql")
def test_a_refused_keyed_scan_still_counts_against_the_rate_limit(make_app):
    # A keyed scan is the pipelined transaction (the key's claim, then redeem_coupon() in it):
    # a refusal rolls back to the kept claim and must keep the hit the function counted.
    api = Api(TestClientTransport(make_app(SCAN_RATE_LIMIT="2 per minute").test_client()))
    token, _ = api.login()
    used, fresh = api.generate(2)

    def keyed_scan(coupon: str, key: str):
        return api.call(
            "POST", "/scan", {"token": coupon}, {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
        )

    assert keyed_scan(used, "first").status == 200
    # Refused after its hit was counted: the transaction keeps the hit all the same.
    assert_problem(keyed_scan(used, "second"), 409, "coupon_already_redeemed")
    assert_problem(keyed_scan(fresh, "third"), 429, "rate_limited")


def test_a_wallet_read_is_one_statement_the_bearer_check_included(app, api):
    token, _ = api.login()
    (coupon,) = api.generate(1)
    assert api.scan(token, coupon).status == 200
    assert api.wallet(token).status == 200  # the connection is open
    with app.extensions["rewards.db"].counting() as counts:
        wallet = api.wallet(token)
    assert wallet.status == 200 and wallet.body["points"] == 10 and len(wallet.body["transactions"]) == 1
    # The bearer's user with its balance beside the page of the ledger, its own snapshot (before:
    # 4, BEGIN, the user, the page, ROLLBACK; and 5 before that, the user read on its own first).
    assert counts.statements == 1
    on_postgresql = app.extensions["rewards.db"].backend.name == "postgresql"
    assert counts.round_trips == (1 if on_postgresql else None)  # SQLite's statements do not travel


def test_an_otp_pair_is_fourteen_statements_a_new_user_included(app, api):
    api.login()  # the connection is open
    database = app.extensions["rewards.db"]
    with database.counting() as sent:
        phone = fresh_phone()
        code = api.request_otp(phone).body["otp"]
    with database.counting() as verified:
        reply = api.call("POST", "/auth/verify", {"phone": phone, "otp": code})
    assert reply.status == 200
    token = reply.body["access_token"]
    assert api.wallet(token).status == 200  # the instance read with the user is the one a token needs
    # /auth/otp: BEGIN, the address's and the phone's hits, one savepoint, the code, COMMIT (before:
    # 8, a savepoint released and taken for each hit). /auth/verify: BEGIN, the address's hit, its
    # savepoint, the code, its deletion, the new user with the database instance, the users'
    # tally, COMMIT (before: 9, the instance read on its own).
    assert (sent.statements, verified.statements) == (6, 8)
