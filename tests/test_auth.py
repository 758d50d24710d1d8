"""Phone login: one-time codes and access tokens."""

from __future__ import annotations

import logging
import time

import jwt
import pytest

from .support.client import assert_problem, bearer, fresh_phone
from .webhook import Gateway


def test_otp_then_verify_gives_a_token_for_a_new_user(client, db):
    phone = fresh_phone()
    sent = client.post("/auth/otp", json={"phone": phone})
    assert sent.status_code == 200
    body = sent.get_json()
    assert body["status"] == "sent" and body["expires_in"] == 300 and len(body["otp"]) == 6

    verified = client.post("/auth/verify", json={"phone": phone, "otp": body["otp"]})
    assert verified.status_code == 200
    result = verified.get_json()
    assert result["token_type"] == "Bearer" and result["expires_in"] == 3600
    assert result["user"]["phone"] == phone and isinstance(result["user"]["id"], int)

    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["sub"] == str(result["user"]["id"])
    assert claims["exp"] - claims["iat"] == 3600
    assert jwt.get_unverified_header(result["access_token"])["alg"] == "HS256"
    assert db.execute("SELECT count(*) FROM users WHERE phone = ?", (phone,)).fetchone()[0] == 1


def test_second_login_finds_the_same_user(api):
    phone = fresh_phone()
    _, first = api.login(phone)
    _, second = api.login(phone)
    assert first == second


def test_a_code_works_once(client):
    phone = fresh_phone()
    code = client.post("/auth/otp", json={"phone": phone}).get_json()["otp"]
    assert client.post("/auth/verify", json={"phone": phone, "otp": code}).status_code == 200
    assert_problem(client.post("/auth/verify", json={"phone": phone, "otp": code}), 401, "invalid_otp")


def test_a_new_code_replaces_the_earlier_one(client):
    phone = fresh_phone()
    first = client.post("/auth/otp", json={"phone": phone}).get_json()["otp"]
    second = client.post("/auth/otp", json={"phone": phone}).get_json()["otp"]
    if first != second:
        assert_problem(client.post("/auth/verify", json={"phone": phone, "otp": first}), 401, "invalid_otp")
    assert client.post("/auth/verify", json={"phone": phone, "otp": second}).status_code == 200


def test_an_expired_code_is_refused(client, db):
    phone = fresh_phone()
    code = client.post("/auth/otp", json={"phone": phone}).get_json()["otp"]
    db.execute("UPDATE otp_codes SET expires_at = ? WHERE phone = ?", (int(time.time()) - 1, phone))
    assert_problem(client.post("/auth/verify", json={"phone": phone, "otp": code}), 401, "invalid_otp")


def test_verify_without_a_requested_code_is_refused(client):
    assert_problem(client.post("/auth/verify", json={"phone": fresh_phone(), "otp": "123456"}), 401, "invalid_otp")


def test_brute_force_burns_the_code_at_max_attempts(client):
    phone = fresh_phone()
    code = client.post("/auth/otp", json={"phone": phone}).get_json()["otp"]
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(4):
        assert_problem(client.post("/auth/verify", json={"phone": phone, "otp": wrong}), 401, "invalid_otp")
    assert_problem(client.post("/auth/verify", json={"phone": phone, "otp": wrong}), 429, "too_many_attempts")
    # Burned: even the right code no longer works.
    assert_problem(client.post("/auth/verify", json={"phone": phone, "otp": code}), 429, "too_many_attempts")
    fresh = client.post("/auth/otp", json={"phone": phone}).get_json()["otp"]
    assert client.post("/auth/verify", json={"phone": phone, "otp": fresh}).status_code == 200


def test_send_limit_per_phone_with_retry_after(make_app):
    client = make_app(OTP_SEND_LIMIT="2", OTP_SEND_WINDOW_SECONDS="600").test_client()
    phone = fresh_phone()
    for _ in range(2):
        assert client.post("/auth/otp", json={"phone": phone}).status_code == 200
    response = client.post("/auth/otp", json={"phone": phone})
    assert_problem(response, 429, "rate_limited")
    assert 1 <= int(response.headers["Retry-After"]) <= 600
    assert client.post("/auth/otp", json={"phone": fresh_phone()}).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"phone": None},
        {"phone": 15551234567},
        {"phone": "15551234567"},
        {"phone": "+0551234567"},
        {"phone": "+1555"},
        {"phone": "+1234567890123456"},
        {"phone": "+1555123456a"},
        {"phone": ["+15551234567"]},
    ],
)
def test_bad_phone_is_invalid_request_naming_the_field(client, body):
    assert "phone" in assert_problem(client.post("/auth/otp", json=body), 400, "invalid_request")["detail"]


@pytest.mark.parametrize("otp", [None, 123456, "12345", "1234567", "abcdef", "١٢٣٤٥٦", ""])
def test_bad_code_shape_is_invalid_request(client, otp):
    phone = fresh_phone()
    client.post("/auth/otp", json={"phone": phone})
    assert (
        "otp"
        in assert_problem(client.post("/auth/verify", json={"phone": phone, "otp": otp}), 400, "invalid_request")[
            "detail"
        ]
    )


def test_log_delivery_logs_the_code_and_does_not_return_it(make_app, caplog):
    client = make_app(OTP_DELIVERY="log").test_client()
    phone = fresh_phone()
    with caplog.at_level(logging.INFO, logger="rewards"):
        body = client.post("/auth/otp", json={"phone": phone}).get_json()
    assert "otp" not in body
    assert f"one-time code for {phone}:" in caplog.text


def test_codes_are_unreadable_at_rest(client, db, database):
    phone = fresh_phone()
    code = client.post("/auth/otp", json={"phone": phone}).get_json()["otp"]
    stored = db.execute("SELECT * FROM otp_codes WHERE phone = ?", (phone,)).fetchone()
    assert stored is not None and code not in repr(tuple(stored))
    if database.path is not None:  # SQLite: the file itself, WAL included
        raw = b"".join(p.read_bytes() for p in database.path.parent.glob("rewards.db*"))
        assert phone.encode() in raw  # the row is there...
        assert code.encode() not in raw  # ...but not the code


def test_webhook_delivery_posts_the_code(make_app):
    with Gateway() as gateway:
        client = make_app(OTP_DELIVERY="webhook", OTP_WEBHOOK_URL=gateway.url).test_client()
        phone = fresh_phone()
        response = client.post("/auth/otp", json={"phone": phone})
        assert response.status_code == 200 and "otp" not in response.get_json()
        assert gateway.received == [{"phone": phone, "code": gateway.received[0]["code"]}]
        code = gateway.received[0]["code"]
        assert client.post("/auth/verify", json={"phone": phone, "otp": code}).status_code == 200


@pytest.mark.parametrize(("status", "delay"), [(500, 0.0), (200, 2.0)])
def test_webhook_failure_is_502_and_the_code_is_unusable(make_app, status, delay):
    with Gateway(status=status, delay=delay) as gateway:
        client = make_app(
            OTP_DELIVERY="webhook", OTP_WEBHOOK_URL=gateway.url, OTP_WEBHOOK_TIMEOUT_SECONDS="0.5"
        ).test_client()
        phone = fresh_phone()
        started = time.monotonic()
        assert_problem(client.post("/auth/otp", json={"phone": phone}), 502, "otp_delivery_failed")
        assert time.monotonic() - started < 1.9  # bounded by the timeout, not the gateway
        code = gateway.received[0]["code"]
        assert_problem(client.post("/auth/verify", json={"phone": phone, "otp": code}), 401, "invalid_otp")


def test_webhook_unreachable_is_502(make_app):
    client = make_app(OTP_DELIVERY="webhook", OTP_WEBHOOK_URL="http://127.0.0.1:9/send").test_client()
    assert_problem(client.post("/auth/otp", json={"phone": fresh_phone()}), 502, "otp_delivery_failed")


def test_tokens_expire(make_app, api):
    client = make_app(JWT_TTL_SECONDS="1").test_client()
    phone = fresh_phone()
    code = client.post("/auth/otp", json={"phone": phone}).get_json()["otp"]
    token = client.post("/auth/verify", json={"phone": phone, "otp": code}).get_json()["access_token"]
    assert client.get("/users/me/wallet", headers=bearer(token)).status_code == 200
    time.sleep(2.1)
    response = client.get("/users/me/wallet", headers=bearer(token))
    assert_problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_auth_calls_from_one_address_are_limited_across_phones(make_app, db):
    client = make_app(AUTH_IP_RATE_LIMIT="3 per hour").test_client()
    phones = [fresh_phone() for _ in range(4)]
    assert client.post("/auth/otp", json={"phone": phones[0]}).status_code == 200
    # A wrong guess counts too, and its count persists although the guess was refused.
    assert_problem(client.post("/auth/verify", json={"phone": phones[0], "otp": "000000"}), 401, "invalid_otp")
    assert client.post("/auth/otp", json={"phone": phones[1]}).status_code == 200
    for path, body in (("/auth/otp", {"phone": phones[2]}), ("/auth/verify", {"phone": phones[1], "otp": "1" * 6})):
        refused = client.post(path, json=body)
        assert_problem(refused, 429, "rate_limited")
        assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    # Refused before anything else: no code was made for the fourth phone.
    assert db.execute("SELECT count(*) FROM otp_codes WHERE phone = ?", (phones[2],)).fetchone()[0] == 0
    # Another address has its own count.
    other = client.post("/auth/otp", json={"phone": phones[3]}, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200


def test_a_code_refused_for_its_address_is_not_counted_against_its_phone(make_app):
    # Both limits are hit in one kept block now (ratelimit.count_in_turn): still in turn, the
    # phone's only when the address's allowed the call.
    client = make_app(AUTH_IP_RATE_LIMIT="1 per hour", OTP_SEND_LIMIT="1").test_client()
    assert client.post("/auth/otp", json={"phone": fresh_phone()}).status_code == 200
    phone = fresh_phone()
    assert_problem(client.post("/auth/otp", json={"phone": phone}), 429, "rate_limited")
    other = client.post("/auth/otp", json={"phone": phone}, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200
    # The phone's own limit still holds, refused or not.
    again = client.post("/auth/otp", json={"phone": phone}, environ_base={"REMOTE_ADDR": "192.0.2.8"})
    assert_problem(again, 429, "rate_limited")


def test_without_a_declared_proxy_a_client_cannot_choose_its_address(make_app):
    client = make_app(AUTH_IP_RATE_LIMIT="2 per hour").test_client()
    statuses = [
        client.post(
            "/auth/otp", json={"phone": fresh_phone()}, headers={"X-Forwarded-For": f"198.51.100.{i}"}
        ).status_code
        for i in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_behind_one_proxy_the_client_is_the_last_forwarded_address(make_app):
    client = make_app(AUTH_IP_RATE_LIMIT="1 per hour", PROXY_COUNT="1").test_client()

    def otp(forwarded: str) -> int:
        return client.post(
            "/auth/otp", json={"phone": fresh_phone()}, headers={"X-Forwarded-For": forwarded}
        ).status_code

    assert otp("198.51.100.1") == 200
    assert otp("198.51.100.2") == 200  # another client behind the same proxy
    # What a client writes to the left of the proxy's entry is not its address.
    assert otp("203.0.113.9, 198.51.100.1") == 429


def test_a_token_accepted_under_one_secret_is_refused_under_another(make_app):
    # Verified tokens are remembered (rewards/auth/tokens.py): only under the secret that verified them.
    first = make_app(JWT_SECRET="a" * 40).test_client()
    phone = fresh_phone()
    code = first.post("/auth/otp", json={"phone": phone}).get_json()["otp"]
    token = first.post("/auth/verify", json={"phone": phone, "otp": code}).get_json()["access_token"]
    assert first.get("/users/me/wallet", headers=bearer(token)).status_code == 200
    second = make_app(JWT_SECRET="b" * 40).test_client()
    assert_problem(second.get("/users/me/wallet", headers=bearer(token)), 401, "unauthorized")
