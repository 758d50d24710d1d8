"""Property-based: any JSON value in any field, any text in any query parameter, gets a 4xx
problem with a contract code or a success, never a 500, and a refused request changes nothing."""

from __future__ import annotations

import hashlib
import json
import time
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rewards import clock
from rewards.errors import PROBLEM_CODES

from .support.client import ADMIN_KEY, bearer

# The service's own table of codes by status: the contract's error table.
CONTRACT_CODES: dict[int, set[str]] = {}
for _code, _status in PROBLEM_CODES.items():
    CONTRACT_CODES.setdefault(_status, set()).add(_code)
BUSINESS_TABLES = ("users", "batches", "coupons", "scans", "ledger_entries", "payouts", "audit_log")
BOOKKEEPING_TABLES = ("otp_codes", "rate_limits", "idempotency_keys")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=8,
)
# Valid values mixed in, so the other field is the one that decides.
phones = json_values | st.sampled_from(["+15551234567", "+447700900123"])
otps = json_values | st.sampled_from(["123456", "000000"])
counts = json_values | st.integers(min_value=1, max_value=3)
times = json_values | st.sampled_from(["2099-01-01T00:00:00Z", "2001-01-01T00:00:00Z"])
tokens = json_values | st.uuids(version=4).map(str)
MISSING = object()


def maybe(strategy):
    return strategy | st.just(MISSING)


@pytest.fixture
def world(api, db):
    """One user and the service, shared by every example of a test."""
    return api.client, api.login("+15550001111").access_token, db


def snapshot(db, tables) -> str:
    digest = hashlib.sha256()
    for table in tables:
        for row in db.execute(f"SELECT * FROM {table} ORDER BY 1"):
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def check(db, send):
    business, bookkeeping = snapshot(db, BUSINESS_TABLES), snapshot(db, BOOKKEEPING_TABLES)
    response = send()
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json"
        body = response.get_json()
        assert body["status"] == response.status_code
        assert body["code"] in CONTRACT_CODES[response.status_code]
        assert snapshot(db, BUSINESS_TABLES) == business
        if response.status_code == 400:
            assert snapshot(db, BOOKKEEPING_TABLES) == bookkeeping


def body_of(**fields):
    return {k: v for k, v in fields.items() if v is not MISSING}


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@PROPERTY
@given(body=json_values)
def test_any_body_that_is_not_an_object(world, body):
    client, token, db = world
    if isinstance(body, dict):
        return
    for path in ("/auth/otp", "/auth/verify", "/scan"):
        raw = json.dumps(body)  # json=None would send no body at all
        check(
            db,
            lambda path=path, raw=raw: client.post(
                path, data=raw, content_type="application/json", headers=bearer(token)
            ),
        )


@PROPERTY
@given(phone=maybe(phones))
def test_otp_request(world, phone):
    client, _, db = world
    check(db, lambda: client.post("/auth/otp", json=body_of(phone=phone)))


@PROPERTY
@given(phone=maybe(phones), otp=maybe(otps))
def test_otp_verify(world, phone, otp):
    client, _, db = world
    check(db, lambda: client.post("/auth/verify", json=body_of(phone=phone, otp=otp)))


@PROPERTY
@given(count=maybe(counts), points=maybe(json_values), expires_at=maybe(times), label=maybe(json_values))
def test_generate(world, count, points, expires_at, label):
    client, _, db = world
    body = body_of(count=count, points=points, expires_at=expires_at, label=label)
    check(db, lambda: client.post("/coupons/generate", json=body, headers={"X-API-Key": ADMIN_KEY}))


@PROPERTY
@given(token=maybe(tokens))
def test_scan(world, token):
    client, access_token, db = world
    check(db, lambda: client.post("/scan", json=body_of(token=token), headers=bearer(access_token)))


@PROPERTY
@given(user=st.text(min_size=1, max_size=30), limit=st.text(max_size=25), before=st.text(max_size=25))
def test_wallet_parameters(world, user, limit, before):
    client, access_token, db = world
    path = f"/users/{quote(user, safe='')}/wallet"
    query = {"limit": limit, "before": before}
    check(db, lambda: client.get(path, query_string=query, headers={"X-API-Key": ADMIN_KEY}))
    check(db, lambda: client.get("/users/me/wallet", query_string=query, headers=bearer(access_token)))


# Operators' inputs: every new body field and query parameter, valid values mixed in.
reasons = json_values | st.text(max_size=600) | st.sampled_from(["", "leaked", "r" * 500, "r" * 501])
path_ids = st.text(max_size=25) | st.integers(min_value=-(2**70), max_value=2**70).map(str)
path_tokens = st.text(min_size=1, max_size=40) | st.uuids(version=4).map(str) | st.uuids().map(str)


@pytest.fixture
def made(api):
    """A few real coupons and their batch, so that valid inputs reach the code behind them."""
    return api.generate(3)


@PROPERTY
@given(pick=st.integers(0, 2), other=maybe(path_tokens), reason=maybe(reasons))
def test_void_coupon(world, made, pick, other, reason):
    client, _, db = world
    token = made[pick] if other is MISSING else other
    path = f"/coupons/{quote(token, safe='')}/void"
    check(db, lambda: client.post(path, json=body_of(reason=reason), headers={"X-API-Key": ADMIN_KEY}))


@PROPERTY
@given(batch=maybe(path_ids), reason=maybe(reasons))
def test_void_batch_and_its_reads(world, made, batch, reason):
    client, _, db = world
    ref = "1" if batch is MISSING else quote(batch, safe="")
    admin = {"X-API-Key": ADMIN_KEY}
    check(db, lambda: client.post(f"/batches/{ref}/void", json=body_of(reason=reason), headers=admin))
    check(db, lambda: client.get(f"/batches/{ref}", headers=admin))
    check(db, lambda: client.get(f"/batches/{ref}/coupons.csv", headers=admin))


@PROPERTY
@given(token=maybe(tokens), device_id=maybe(json_values | st.text(max_size=120)))
def test_scan_with_a_device(world, made, token, device_id):
    client, access_token, db = world
    body = body_of(token=made[0] if token is MISSING else token, device_id=device_id)
    check(db, lambda: client.post("/scan", json=body, headers=bearer(access_token)))


@PROPERTY
@given(
    limit=st.text(max_size=25),
    before=st.text(max_size=25),
    action=st.text(max_size=40) | st.sampled_from(["batch.void", "coupon.void"]),
    phone=st.text(max_size=40) | phones.filter(lambda p: isinstance(p, str)),
    scale=st.text(max_size=12) | st.integers(-5, 60).map(str),
)
def test_operator_query_parameters(world, made, limit, before, action, phone, scale):
    client, _, db = world
    admin = {"X-API-Key": ADMIN_KEY}
    check(db, lambda: client.get("/batches", query_string={"limit": limit, "before": before}, headers=admin))
    query = {"limit": limit, "before": before, "action": action}
    check(db, lambda: client.get("/audit", query_string=query, headers=admin))
    check(db, lambda: client.get("/users", query_string={"phone": phone}, headers=admin))
    for kind in ("svg", "png"):
        check(
            db,
            lambda kind=kind: client.get(f"/coupons/{made[0]}/qr.{kind}", query_string={"scale": scale}, headers=admin),
        )


# Points: every new body field, path id and query parameter of payouts, reversals and
# adjustments, and the Idempotency-Key header, valid values mixed in.
point_values = json_values | st.integers(-(2**64), 2**64) | st.sampled_from([0, 1, 5, -5, 10**9, 10**9 + 1, 2.5, "5"])
# A header value cannot carry a line break at all (the client library refuses to send one).
idempotency_keys = st.text(max_size=300).filter(lambda k: "\n" not in k and "\r" not in k) | st.sampled_from(
    ["", "k" * 255, "k" * 256, "ok-key", "tab\tkey"]
)


@pytest.fixture
def funded(api, world):
    """The world's user with 1,000 points, one of its scans and one pending payout of 5."""
    client, access_token, db = world
    user_id = db.scalar("SELECT id FROM users WHERE phone = '+15550001111'")
    admin = {"X-API-Key": ADMIN_KEY}
    client.post(f"/users/{user_id}/adjustments", json={"points": 1000, "reason": "seed"}, headers=admin)
    (coupon,) = api.generate(1)
    scan_id = client.post("/scan", json={"token": coupon}, headers=bearer(access_token)).get_json()["scan_id"]
    payout = client.post("/users/me/payouts", json={"points": 5}, headers=bearer(access_token)).get_json()
    return user_id, scan_id, payout["payout"]["id"]


@PROPERTY
@given(points=maybe(point_values), key=maybe(idempotency_keys))
def test_payout_request(world, funded, points, key):
    client, access_token, db = world
    headers = bearer(access_token) | ({} if key is MISSING else {"Idempotency-Key": key})
    check(db, lambda: client.post("/users/me/payouts", json=body_of(points=points), headers=headers))


@PROPERTY
@given(user=maybe(path_ids), points=maybe(point_values), reason=maybe(reasons), key=maybe(idempotency_keys))
def test_adjustment(world, funded, user, points, reason, key):
    client, _, db = world
    ref = str(funded[0]) if user is MISSING else quote(user, safe="")
    headers = {"X-API-Key": ADMIN_KEY} | ({} if key is MISSING else {"Idempotency-Key": key})
    body = body_of(points=points, reason=reason)
    check(db, lambda: client.post(f"/users/{ref}/adjustments", json=body, headers=headers))


@PROPERTY
@given(scan=maybe(path_ids), reason=maybe(reasons), restore=maybe(json_values))
def test_reversal(world, funded, scan, reason, restore):
    client, _, db = world
    ref = str(funded[1]) if scan is MISSING else quote(scan, safe="")
    body = body_of(reason=reason, restore=restore)
    check(db, lambda: client.post(f"/scans/{ref}/reverse", json=body, headers={"X-API-Key": ADMIN_KEY}))


@PROPERTY
@given(payout=maybe(path_ids), reference=maybe(reasons), reason=maybe(reasons))
def test_payout_decisions(world, funded, payout, reference, reason):
    client, _, db = world
    ref = str(funded[2]) if payout is MISSING else quote(payout, safe="")
    admin = {"X-API-Key": ADMIN_KEY}
    check(db, lambda: client.post(f"/payouts/{ref}/approve", json=body_of(reference=reference), headers=admin))
    check(db, lambda: client.post(f"/payouts/{ref}/reject", json=body_of(reason=reason), headers=admin))


@PROPERTY
@given(
    status=st.text(max_size=20) | st.sampled_from(["pending", "approved", "rejected"]),
    limit=st.text(max_size=25),
    before=st.text(max_size=25),
    user=st.text(min_size=1, max_size=30),
)
def test_payout_query_parameters(world, funded, status, limit, before, user):
    client, access_token, db = world
    admin = {"X-API-Key": ADMIN_KEY}
    query = {"status": status, "limit": limit, "before": before}
    check(db, lambda: client.get("/payouts", query_string=query, headers=admin))
    check(db, lambda: client.get("/payouts.csv", query_string={"status": status}, headers=admin))
    check(db, lambda: client.get("/users/me/payouts", query_string=query, headers=bearer(access_token)))
    check(db, lambda: client.get(f"/users/{quote(user, safe='')}/payouts", query_string=query, headers=admin))


@given(seconds=st.integers(min_value=0, max_value=253_402_300_799))  # to 9999-12-31T23:59:59Z
def test_the_fast_time_format_is_rfc_3339_as_strftime_writes_it(seconds):
    assert clock.to_rfc3339(seconds) == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
