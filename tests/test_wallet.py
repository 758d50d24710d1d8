"""GET /users/<id>/wallet and /users/me/wallet."""

from __future__ import annotations

import pytest

from .support.client import ADMIN_KEY, assert_problem, bearer, tokens_of_no_user_here


def test_wallet_shows_balance_scans_and_transactions_newest_first(api):
    token, user = api.login()
    coupons = api.generate(3, points=5)
    for coupon in coupons:
        api.scan(token, coupon)
    body = api.wallet(token).body
    assert body["user_id"] == user["id"] and body["phone"] == user["phone"]
    assert body["points"] == 15 and body["scans"] == 3 and body["next_before"] is None
    assert [t["coupon_token"] for t in body["transactions"]] == coupons[::-1]
    first = body["transactions"][0]
    assert first["kind"] == "scan" and first["points"] == 5 and first["created_at"].endswith("Z")
    ids = [t["id"] for t in body["transactions"]]
    assert ids == sorted(ids, reverse=True)


def test_pages_follow_next_before_to_the_end(api):
    token, _ = api.login()
    for coupon in api.generate(5):
        api.scan(token, coupon)
    seen, query = [], "?limit=2"
    while True:
        body = api.wallet(token, query).body
        seen += [t["id"] for t in body["transactions"]]
        if body["next_before"] is None:
            break
        assert len(body["transactions"]) == 2
        query = f"?limit=2&before={body['next_before']}"
    assert len(seen) == 5 and seen == sorted(seen, reverse=True)


def test_a_new_user_has_an_empty_wallet(api):
    token, _ = api.login()
    body = api.wallet(token).body
    assert body["points"] == 0 and body["scans"] == 0 and body["transactions"] == [] and body["next_before"] is None


def test_own_wallet_by_id(api):
    token, user = api.login()
    response = api.client.get(f"/users/{user['id']}/wallet", headers=bearer(token))
    assert response.status_code == 200 and response.get_json()["user_id"] == user["id"]


def test_another_users_wallet_is_forbidden(api):
    token, _ = api.login()
    _, other = api.login()
    assert_problem(api.client.get(f"/users/{other['id']}/wallet", headers=bearer(token)), 403, "forbidden")


def test_operator_reads_any_wallet(api):
    token, user = api.login()
    (coupon,) = api.generate(1, points=3)
    api.scan(token, coupon)
    response = api.client.get(f"/users/{user['id']}/wallet", headers={"X-API-Key": ADMIN_KEY})
    assert response.status_code == 200 and response.get_json()["points"] == 3


def test_operator_asking_for_nobody_is_user_not_found(client):
    assert_problem(client.get("/users/999999/wallet", headers={"X-API-Key": ADMIN_KEY}), 404, "user_not_found")


def test_wallet_needs_credentials(api, client):
    _, user = api.login()
    assert_problem(client.get("/users/me/wallet"), 401, "unauthorized")
    assert_problem(client.get(f"/users/{user['id']}/wallet"), 401, "unauthorized")
    assert_problem(client.get(f"/users/{user['id']}/wallet", headers={"X-API-Key": "wrong"}), 401, "unauthorized")
    assert_problem(client.get("/users/me/wallet", headers={"X-API-Key": ADMIN_KEY}), 401, "unauthorized")


@pytest.mark.parametrize("user_id", ["-1", "0", "abc", "1.5", "99999999999999999999999", "%20", "1e3", "٣"])
def test_bad_user_ids_are_invalid_request(client, user_id):
    assert_problem(client.get(f"/users/{user_id}/wallet", headers={"X-API-Key": ADMIN_KEY}), 400, "invalid_request")


@pytest.mark.parametrize(
    "query",
    [
        "?limit=0",
        "?limit=101",
        "?limit=abc",
        "?limit=-1",
        "?before=0",
        "?before=x",
        "?before=99999999999999999999",
        "?limit=",
    ],
)
def test_bad_query_parameters_are_invalid_request(api, query):
    token, _ = api.login()
    assert_problem(api.wallet(token, query), 400, "invalid_request")


@pytest.mark.parametrize("query", ["?limit=0", "?before=x", "?limit=5&limit=6"])
def test_a_token_of_no_user_here_is_refused_before_its_query(api, db, query):
    """The bearer's wallet is one statement that also checks its user (issue #17), read after
    the query: a bad query from a token of no user here is still a 401, not a 400."""
    _, user = api.login()
    for forged in tokens_of_no_user_here(user["id"], db):
        assert_problem(api.wallet(forged, query), 401, "unauthorized")


@pytest.mark.parametrize("query", ["?limit=5&limit=6", "?before=9&before=x", "?before=9&before=9"])
def test_a_query_parameter_given_twice_is_invalid_request(api, query):
    token, _ = api.login()
    detail = assert_problem(api.wallet(token, query), 400, "invalid_request")["detail"]
    assert "more than once" in detail
