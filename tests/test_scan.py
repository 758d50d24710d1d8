"""POST /scan: redeem once, credit the points."""

from __future__ import annotations

import time

import pytest

from .support.client import Api, TestClientTransport, assert_problem, bearer, tokens_of_no_user_here


def test_scan_credits_the_points(api, db):
    token, user = api.login()
    coupon, other = api.generate(2, points=7)
    response = api.scan(token, coupon)
    assert response.status == 200
    body = response.body
    assert body["token"] == coupon and body["points"] == 7 and body["balance"] == 7
    assert isinstance(body["scan_id"], int) and body["redeemed_at"].endswith("Z")
    assert api.scan(token, other).body["balance"] == 14
    row = db.execute("SELECT status FROM coupons WHERE token = ?", (coupon,)).fetchone()
    assert row["status"] == "redeemed"
    assert db.execute("SELECT sum(points) FROM ledger_entries WHERE user_id = ?", (user["id"],)).fetchone()[0] == 14


def test_a_coupon_redeems_once_for_anyone(api):
    first, _ = api.login()
    second, _ = api.login()
    (coupon,) = api.generate(1)
    assert api.scan(first, coupon).status == 200
    assert_problem(api.scan(first, coupon), 409, "coupon_already_redeemed")
    assert_problem(api.scan(second, coupon), 409, "coupon_already_redeemed")
    assert api.wallet(second).body["points"] == 0


def test_tokens_match_case_insensitively_with_white_space(api):
    token, _ = api.login()
    (coupon,) = api.generate(1)
    response = api.scan(token, f"  {coupon.upper()}\n")
    assert response.status == 200 and response.body["token"] == coupon


def test_unknown_coupon_is_not_found(api):
    token, _ = api.login()
    assert_problem(api.scan(token, "0f0e0d0c-0b0a-4908-8706-050403020100"), 404, "coupon_not_found")


def test_expired_coupon_is_gone(api, db):
    token, _ = api.login()
    (coupon,) = api.generate(1, expires_at="2099-01-01T00:00:00Z")
    db.execute("UPDATE batches SET expires_at = ?", (int(time.time()) - 1,))
    assert_problem(api.scan(token, coupon), 410, "coupon_expired")
    assert api.wallet(token).body["points"] == 0


@pytest.mark.parametrize(
    "value", [None, 42, "", "not-a-token", "0f0e0d0c-0b0a-1908-8706-050403020100", ["x"], {"a": 1}]
)
def test_malformed_token_is_invalid_request(api, value):
    token, _ = api.login()
    response = api.client.post("/scan", json={"token": value}, headers=bearer(token))
    assert "token" in assert_problem(response, 400, "invalid_request")["detail"]


def test_scan_needs_a_bearer_token(api):
    (coupon,) = api.generate(1)
    for headers in (
        {},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer nonsense"},
    ):
        response = api.client.post("/scan", json={"token": coupon}, headers=headers)
        assert_problem(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_scan_rate_limit_counts_failures_too(make_app):
    api = Api(TestClientTransport(make_app(SCAN_RATE_LIMIT="3 per minute").test_client()))
    token, _ = api.login()
    good, later = api.generate(2)
    assert api.scan(token, good).status == 200
    assert api.scan(token, good).status == 409
    assert api.scan(token, "0f0e0d0c-0b0a-4908-8706-050403020100").status == 404
    response = api.scan(token, later)
    assert_problem(response, 429, "rate_limited")
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    other, _ = api.login()
    assert api.scan(other, later).status == 200  # the limit is per user


def test_a_void_coupon_or_a_coupon_of_a_void_batch_is_gone(api, db):
    token, _ = api.login()
    voided, in_void_batch, redeemed_then_voided = api.generate(3)
    assert api.scan(token, redeemed_then_voided).status == 200
    db.execute("UPDATE coupons SET status = 'void' WHERE token = ?", (voided,))
    assert_problem(api.scan(token, voided), 410, "coupon_void")
    db.execute("UPDATE batches SET voided_at = 1")
    assert_problem(api.scan(token, in_void_batch), 410, "coupon_void")
    # Void is checked before redeemed: a redeemed coupon of a voided batch answers 410 too.
    assert_problem(api.scan(token, redeemed_then_voided), 410, "coupon_void")
    assert api.wallet(token).body["points"] == 10


def test_the_scanning_device_is_stored_with_the_scan(api, db):
    token, _ = api.login()
    with_device, without = api.generate(2)
    assert api.scan(token, with_device, device_id="android-7f3a").status == 200
    assert api.scan(token, without).status == 200
    stored = dict(db.execute("SELECT c.token, s.device_id FROM scans s JOIN coupons c ON c.id = s.coupon_id"))
    assert stored == {with_device: "android-7f3a", without: None}
    too_long = api.scan(token, api.generate(1)[0], device_id="d" * 101)
    assert "device_id" in assert_problem(too_long, 400, "invalid_request")["detail"]


def test_every_redemption_is_tallied_on_its_batch(api, db):
    token, _ = api.login()
    coupons = api.generate(5)
    for coupon in coupons[:3]:
        assert api.scan(token, coupon).status == 200
    assert api.scan(token, coupons[0]).status == 409  # a refusal tallies nothing
    assert db.scalar("SELECT sum(redeemed) FROM batch_tallies") == 3
    assert db.scalar("SELECT sum(voided) FROM batch_tallies") == 0


def test_a_well_signed_token_for_no_user_of_this_database_scans_nothing_and_counts_nothing(make_app, db):
    """The bearer's user is checked inside the scan's own round trips on PostgreSQL (issue #17):
    still a 401 before anything is counted, written, or claimed under an Idempotency-Key."""
    api = Api(TestClientTransport(make_app(SCAN_RATE_LIMIT="1 per minute").test_client()))
    token, user = api.login()
    (coupon,) = api.generate(1)
    for forged in tokens_of_no_user_here(user["id"], db):
        for key in (None, f"retry-{forged[-8:]}"):
            headers = bearer(forged) | ({"Idempotency-Key": key} if key else {})
            response = api.call("POST", "/scan", {"token": coupon}, headers)
            assert_problem(response, 401, "unauthorized")
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert db.scalar("SELECT count(*) FROM scans") == 0
    assert db.scalar("SELECT count(*) FROM rate_limits WHERE substr(key, 1, 5) = 'scan:'") == 0
    assert db.scalar("SELECT count(*) FROM idempotency_keys") == 0
    # Its one scan a minute is still there for the real token.
    assert api.scan(token, coupon).status == 200


@pytest.mark.parametrize(
    "body, headers",
    [
        ({}, {}),  # no token
        ({"token": "not-a-uuid"}, {}),
        ({"token": "x", "device_id": 5}, {}),
        ("a string, not an object", {}),
        (None, {"Idempotency-Key": "k" * 256}),  # a key longer than 255 characters
    ],
)
def test_a_token_of_no_user_here_is_refused_before_its_input(api, db, body, headers):
    """On PostgreSQL the bearer's user is checked in the scan's own statement, after its input
    is read; a refusal of that input still waits for the check, so such a token learns only
    401, on both engines, as on every route."""
    _, user = api.login()
    (coupon,) = api.generate(1)
    body = {"token": coupon} if body is None else body
    for forged in tokens_of_no_user_here(user["id"], db):
        assert_problem(api.call("POST", "/scan", body, bearer(forged) | headers), 401, "unauthorized")
    # The same input from the real user is what is refused with 400.
    token, _ = api.login()
    assert_problem(api.call("POST", "/scan", body, bearer(token) | headers), 400, "invalid_request")


def test_scans_go_on_after_init_db_reset_on_the_running_service(api, runner):
    """On PostgreSQL the scan is a function of the schema: a reset drops and makes it anew under
    connections that have run (and prepared) the call many times; they go on scanning."""
    token, _ = api.login()
    for coupon in api.generate(8):
        assert api.scan(token, coupon).status == 200
    assert runner.invoke(args=["init-db", "--reset", "--yes"]).exit_code == 0
    token, _ = api.login()
    (coupon,) = api.generate(1)
    response = api.scan(token, coupon)
    assert response.status == 200 and response.body["balance"] == 10
