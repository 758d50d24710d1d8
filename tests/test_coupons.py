"""POST /coupons/generate: batches for operators."""

from __future__ import annotations

import json
import re

import pytest

from .support.client import ADMIN_KEY, assert_problem, bearer

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def generate(client, body, key=ADMIN_KEY):
    return client.post("/coupons/generate", json=body, headers={"X-API-Key": key} if key else {})


def test_generate_a_batch(client, db):
    body = {"count": 3, "points": 25, "expires_at": "2099-06-30T23:59:59Z", "label": "spring-promo"}
    response = generate(client, body)
    assert response.status_code == 201
    result = response.get_json()
    batch = result["batch"]
    assert batch["label"] == "spring-promo" and batch["count"] == 3 and batch["points"] == 25
    assert batch["expires_at"] == "2099-06-30T23:59:59Z"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", batch["created_at"])
    assert len(result["coupons"]) == 3
    for coupon in result["coupons"]:
        assert UUID4.match(coupon["token"])
        assert coupon["points"] == 25 and coupon["expires_at"] == "2099-06-30T23:59:59Z"
    assert db.execute("SELECT count(*) FROM coupons WHERE batch_id = ?", (batch["id"],)).fetchone()[0] == 3


def test_defaults_and_nulls(client):
    result = generate(client, {"count": 1}).get_json()
    assert result["batch"]["label"] is None and result["batch"]["expires_at"] is None
    assert result["batch"]["points"] == 10 and result["coupons"][0]["points"] == 10


def test_expiry_with_an_offset_is_normalised_to_utc(client):
    result = generate(client, {"count": 1, "expires_at": "2099-01-01T02:00:00+02:00"}).get_json()
    assert result["batch"]["expires_at"] == "2099-01-01T00:00:00Z"


def test_tokens_are_unique_across_a_large_batch(client):
    tokens = [c["token"] for c in generate(client, {"count": 10_000}).get_json()["coupons"]]
    assert len(set(tokens)) == 10_000 and all(UUID4.match(t) for t in tokens)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "count"),
        ({"count": 0}, "count"),
        ({"count": 10_001}, "count"),
        ({"count": "5"}, "count"),
        ({"count": 2.5}, "count"),
        ({"count": True}, "count"),
        ({"count": 1, "points": 0}, "points"),
        ({"count": 1, "points": 1_000_001}, "points"),
        ({"count": 1, "points": "10"}, "points"),
        ({"count": 1, "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"count": 1, "expires_at": "tomorrow"}, "expires_at"),
        ({"count": 1, "expires_at": "2099-01-01T00:00:00"}, "expires_at"),
        ({"count": 1, "expires_at": 4102444800}, "expires_at"),
        ({"count": 1, "label": "x" * 101}, "label"),
        ({"count": 1, "label": 7}, "label"),
    ],
)
def test_bad_fields_are_invalid_request_and_write_nothing(client, db, body, field):
    assert field in assert_problem(generate(client, body), 400, "invalid_request")["detail"]
    assert db.execute("SELECT count(*) FROM batches").fetchone()[0] == 0


def test_admin_key_is_required_and_checked(client, api, db):
    assert_problem(generate(client, {"count": 1}, key=None), 401, "unauthorized")
    assert_problem(generate(client, {"count": 1}, key="wrong"), 401, "unauthorized")
    assert_problem(generate(client, {"count": 1}, key=ADMIN_KEY + "x"), 401, "unauthorized")
    token, _ = api.login()
    assert_problem(client.post("/coupons/generate", json={"count": 1}, headers=bearer(token)), 401, "unauthorized")
    assert db.execute("SELECT count(*) FROM batches").fetchone()[0] == 0


def test_each_named_operator_key_opens_admin_routes_and_the_audit_names_it(make_app, db):
    alice, bob = "a" * 32, "b" * 32
    client = make_app(ADMIN_API_KEY="", ADMIN_API_KEYS=f"alice:{alice},bob:{bob}").test_client()
    for key in (alice, bob):
        assert client.post("/coupons/generate", json={"count": 2}, headers={"X-API-Key": key}).status_code == 201
    assert client.post("/coupons/generate", json={"count": 2}, headers={"X-API-Key": ADMIN_KEY}).status_code == 401
    # A refused request writes nothing, to the batches or to the log.
    assert client.post("/coupons/generate", json={"count": 0}, headers={"X-API-Key": alice}).status_code == 400
    entries = db.execute("SELECT operator, action, target, details FROM audit_log ORDER BY id").fetchall()
    assert [(e["operator"], e["action"]) for e in entries] == [("alice", "batch.create"), ("bob", "batch.create")]
    batch_ids = [r[0] for r in db.execute("SELECT id FROM batches ORDER BY id")]
    assert [e["target"] for e in entries] == [f"batch:{i}" for i in batch_ids]
    assert json.loads(entries[0]["details"])["count"] == 2


def test_gen_coupons_is_audited_as_cli(runner, db, tmp_path):
    result = runner.invoke(args=["gen-coupons", "--count", "3", "--label", "shop", "--output", str(tmp_path / "c.csv")])
    assert result.exit_code == 0
    (entry,) = db.execute("SELECT operator, action, details FROM audit_log").fetchall()
    assert entry["operator"] == "cli" and entry["action"] == "batch.create"
    assert json.loads(entry["details"])["label"] == "shop"


def test_the_audit_log_refuses_changes_even_from_sql(api, db):
    api.generate(1)
    for statement in ("UPDATE audit_log SET operator = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"):
            db.execute(statement)
    assert db.scalar("SELECT operator FROM audit_log") == "admin"
