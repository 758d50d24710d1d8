"""PAYOUT_RATE_LIMIT: payout requests allowed per user, every answer counted (like
SCAN_RATE_LIMIT), counted in the request's own transaction; a 429 is not kept with its
Idempotency-Key, so refused requests cannot fill the database with kept answers."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from rewards.config import ConfigError, build_config

from .support.client import ADMIN_KEY, Api, TestClientTransport, assert_problem, bearer
from .support.races import race, spread

ADMIN = {"X-API-Key": ADMIN_KEY}


def keyed(access_token: str) -> dict[str, str]:
    return {**bearer(access_token), "Idempotency-Key": str(uuid.uuid4())}


def give(api: Api, user_id: int, points: int) -> None:
    reply = api.call("POST", f"/users/{user_id}/adjustments", {"points": points, "reason": "seed"}, ADMIN)
    assert reply.status == 201, reply.body


def test_the_payout_rate_limit_defaults_to_ten_per_hour_and_is_read_like_the_others():
    assert build_config({})["PAYOUT_RATE_LIMIT"] == (10, 3600)
    assert build_config({"PAYOUT_RATE_LIMIT": "3/minute"})["PAYOUT_RATE_LIMIT"] == (3, 60)
    for bad in ("lots", "0 per hour", "10 per fortnight"):
        with pytest.raises(ConfigError, match="PAYOUT_RATE_LIMIT"):
            build_config({"PAYOUT_RATE_LIMIT": bad})


def test_refused_payouts_count_and_past_the_limit_are_429_with_retry_after(make_app, db):
    api = Api(TestClientTransport(make_app(PAYOUT_RATE_LIMIT="3 per hour").test_client()))
    access_token, user = api.login()
    other_token, _ = api.login()
    give(api, user["id"], 10)
    assert api.call("POST", "/users/me/payouts", {"points": 10}, keyed(access_token)).status == 201
    for _ in range(2):  # refused for want of points: counted all the same
        assert_problem(
            api.call("POST", "/users/me/payouts", {"points": 10}, keyed(access_token)), 409, "insufficient_points"
        )
    refused = api.call("POST", "/users/me/payouts", {"points": 10}, keyed(access_token))
    assert_problem(refused, 429, "rate_limited")
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert_problem(api.call("POST", "/users/me/payouts", {"points": 10}, bearer(access_token)), 429, "rate_limited")
    # Kept answers: the 201 and the two 409s, never a 429.
    statuses = db.execute("SELECT status FROM idempotency_keys ORDER BY status").fetchall()
    assert [row[0] for row in statuses] == [201, 409, 409]
    # Each user has a limit of their own.
    assert_problem(
        api.call("POST", "/users/me/payouts", {"points": 1}, bearer(other_token)), 409, "insufficient_points"
    )
    assert db.scalar("SELECT count(*) FROM payouts") == 1


def test_the_payout_limit_is_exact_under_a_race_of_gunicorn_processes_on_two_hosts(hosts, db):
    """40 requests released at one instant across two gunicorn instances of two workers each,
    each with its own Idempotency-Key: exactly the limit is carried out (three held, two
    refused for want of points), every other request is 429, and only the five answers that
    were carried out are kept with their keys."""
    servers = hosts(2, workers=2, PAYOUT_RATE_LIMIT="5 per hour")
    api = servers[0].api
    access_token, user = api.login()
    give(api, user["id"], 30)
    next_api = spread([server.api for server in servers])
    statuses = race(
        lambda _: next_api().call("POST", "/users/me/payouts", {"points": 10}, keyed(access_token)), range(40)
    )
    assert statuses == Counter({201: 3, 409: 2, 429: 35})
    assert db.scalar("SELECT count(*) FROM payouts") == 3
    assert db.scalar("SELECT balance FROM users WHERE id = ?", (user["id"],)) == 0
    kept = sorted(row[0] for row in db.execute("SELECT status FROM idempotency_keys").fetchall())
    assert kept == [201, 201, 201, 409, 409]
    assert db.scalar("SELECT hits FROM rate_limits WHERE key = ?", (f"payout:{user['id']}",)) == 40
    for server in servers:
        assert "Traceback" not in server.log()
