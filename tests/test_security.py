"""Attack and abuse: forged tokens, guessed codes, the operator key, other users' wallets,
SQL injection. Each test fails when the protection it names is removed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time

import pytest

from rewards.config import DEVELOPMENT_VALUES

from .support.client import ADMIN_KEY, assert_problem, bearer, fresh_phone

SECRET = DEVELOPMENT_VALUES["JWT_SECRET"]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(claims: dict, *, alg: str = "HS256", key: str = SECRET, header: dict | None = None) -> str:
    head = b64(json.dumps(header or {"alg": alg, "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    signing_input = f"{head}.{body}".encode()
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512, "RS256": hashlib.sha256}.get(alg)
    signature = b64(hmac.new(key.encode(), signing_input, digest).digest()) if digest else ""
    return f"{head}.{body}.{signature}"


def claims_for(user_id: int, database: str, **overrides) -> dict:
    now = int(time.time())
    claims = {"sub": str(user_id), "db": database, "iat": now, "exp": now + 600}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def database_instance(db) -> str:
    return db.execute("SELECT instance FROM database_instance").fetchone()[0]


def test_a_well_formed_forgery_with_the_real_key_works(api, db):
    """The control for the matrix below: the forging helper makes tokens the service accepts."""
    _, user = api.login()
    assert api.wallet(forge(claims_for(user["id"], database_instance(db)))).status == 200


FORGERIES = {
    "alg none": lambda uid, dbi: forge(claims_for(uid, dbi), alg="none"),
    "alg None spelled differently": lambda uid, dbi: forge(
        claims_for(uid, dbi), header={"alg": "NONE", "typ": "JWT"}, alg="none"
    ),
    "another key": lambda uid, dbi: forge(claims_for(uid, dbi), key="x" * 48),
    "RS256 header, HMAC with the secret": lambda uid, dbi: forge(claims_for(uid, dbi), alg="RS256"),
    "HS512 with the right secret": lambda uid, dbi: forge(claims_for(uid, dbi), alg="HS512"),
    "expired": lambda uid, dbi: forge(claims_for(uid, dbi, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)),
    "not yet valid (nbf)": lambda uid, dbi: forge(claims_for(uid, dbi, nbf=int(time.time()) + 3600)),
    "issued in the future": lambda uid, dbi: forge(
        claims_for(uid, dbi, iat=int(time.time()) + 3600, exp=int(time.time()) + 7200)
    ),
    "no exp": lambda uid, dbi: forge(claims_for(uid, dbi, exp=None)),
    "no iat": lambda uid, dbi: forge(claims_for(uid, dbi, iat=None)),
    "no sub": lambda uid, dbi: forge(claims_for(uid, dbi, sub=None)),
    "sub not an id": lambda uid, dbi: forge(claims_for(uid, dbi, sub="admin")),
    "sub a number, not a string": lambda uid, dbi: forge(claims_for(uid, dbi, sub=uid)),
    "sub negative": lambda uid, dbi: forge(claims_for(uid, dbi, sub="-1")),
    "sub with leading zero": lambda uid, dbi: forge(claims_for(uid, dbi, sub=f"0{uid}")),
    "sub huge": lambda uid, dbi: forge(claims_for(uid, dbi, sub="9" * 30)),
    "user does not exist": lambda uid, dbi: forge(claims_for(uid + 10_000, dbi)),
    "no db": lambda uid, dbi: forge(claims_for(uid, dbi, db=None)),
    "another database": lambda uid, dbi: forge(claims_for(uid, dbi, db="0" * 32)),
    "db not a string": lambda uid, dbi: forge(claims_for(uid, dbi, db=7)),
    "garbage": lambda uid, dbi: "not-a-token",
    "three garbage parts": lambda uid, dbi: "a.b.c",
    "empty signature": lambda uid, dbi: forge(claims_for(uid, dbi)).rsplit(".", 1)[0] + ".",
}


@pytest.mark.parametrize("name", FORGERIES)
def test_forged_tokens_are_refused(api, db, name):
    _, user = api.login()
    response = api.wallet(FORGERIES[name](user["id"], database_instance(db)))
    assert_problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_tampered_payload_with_the_original_signature_is_refused(api, db):
    token, user = api.login()
    _, victim = api.login()
    head, _, signature = token.split(".")
    body = b64(json.dumps(claims_for(victim["id"], database_instance(db))).encode())
    assert_problem(api.wallet(f"{head}.{body}.{signature}"), 401, "unauthorized")


def test_otp_answers_the_same_for_new_and_known_phones(api, client):
    known = fresh_phone()
    api.login(known)
    new = fresh_phone()
    replies = [client.post("/auth/otp", json={"phone": p}) for p in (known, new)]
    assert [r.status_code for r in replies] == [200, 200]
    bodies = [{k: v for k, v in r.get_json().items() if k != "otp"} for r in replies]
    assert bodies[0] == bodies[1]
    assert replies[0].headers.get("Content-Length") == replies[1].headers.get("Content-Length")


def test_admin_key_is_compared_in_constant_time(client, monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    client.post("/coupons/generate", json={"count": 1}, headers={"X-API-Key": "guess"})
    assert (b"guess", ADMIN_KEY.encode()) in calls


def test_admin_key_never_reaches_a_log_or_an_error_body(client, caplog):
    with caplog.at_level(logging.DEBUG):
        bodies = [
            client.post("/coupons/generate", json={"count": 1}, headers={"X-API-Key": ADMIN_KEY + "x"}).get_data(
                as_text=True
            ),
            client.post("/coupons/generate", json={"count": 0}, headers={"X-API-Key": ADMIN_KEY}).get_data(
                as_text=True
            ),
            client.get("/users/nobody/wallet", headers={"X-API-Key": ADMIN_KEY}).get_data(as_text=True),
        ]
    assert all(ADMIN_KEY not in body for body in bodies)
    assert ADMIN_KEY not in caplog.text


def test_a_users_token_opens_no_admin_route(api):
    token, _ = api.login()
    response = api.client.post("/coupons/generate", json={"count": 1}, headers=bearer(token))
    assert_problem(response, 401, "unauthorized")


INJECTIONS = [
    "' OR '1'='1",
    "1; DROP TABLE coupons; --",
    '" OR 1=1 --',
    "'); DELETE FROM users; --",
    "%' --",
    "\x00",
    "1 UNION SELECT token FROM coupons",
]


def table_counts(db) -> dict[str, int]:
    tables = ["users", "batches", "coupons", "scans", "ledger_entries"]
    return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


@pytest.mark.parametrize("payload", INJECTIONS)
def test_sql_injection_in_every_field_does_nothing_but_4xx(api, db, payload):
    token, user = api.login()
    api.generate(1)
    before = table_counts(db)
    attempts = [
        api.client.post("/auth/otp", json={"phone": payload}),
        api.client.post("/auth/verify", json={"phone": payload, "otp": "123456"}),
        api.client.post("/auth/verify", json={"phone": user["phone"], "otp": payload}),
        api.client.post("/scan", json={"token": payload}, headers=bearer(token)),
        api.client.post(
            "/coupons/generate", json={"count": 1, "expires_at": payload}, headers={"X-API-Key": ADMIN_KEY}
        ),
        api.client.post("/coupons/generate", json={"count": payload}, headers={"X-API-Key": ADMIN_KEY}),
        api.client.get(f"/users/{payload}/wallet", headers={"X-API-Key": ADMIN_KEY}),
        api.client.get("/users/me/wallet", query_string={"limit": payload}, headers=bearer(token)),
        api.client.get("/users/me/wallet", query_string={"before": payload}, headers=bearer(token)),
    ]
    for response in attempts:
        assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True))
    assert table_counts(db) == before


def test_a_label_that_looks_like_sql_is_stored_as_text(api, db):
    api.generate(1, label="'); DROP TABLE coupons; --")
    assert db.execute("SELECT label FROM batches").fetchone()[0] == "'); DROP TABLE coupons; --"
    assert table_counts(db)["coupons"] == 1


def test_a_token_never_outlives_the_database_it_was_issued_for(api, runner):
    before_reset, user = api.login()
    assert api.wallet(before_reset).status == 200
    assert runner.invoke(args=["init-db", "--reset", "--yes"]).exit_code == 0
    _, newcomer = api.login()
    assert newcomer["id"] == user["id"]  # ids start again at 1 ...
    # ... but the earlier token names another database, so it opens nothing.
    assert_problem(api.wallet(before_reset), 401, "unauthorized")
    assert_problem(api.client.get(f"/users/{newcomer['id']}/wallet", headers=bearer(before_reset)), 401, "unauthorized")
