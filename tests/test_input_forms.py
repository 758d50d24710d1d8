"""Input in exactly the forms the contract names, and nothing near them: a phone is E.164 and
nothing else, a time is RFC 3339 in the years 0001 to 9999 (UTC), and a whole number is a JSON
number without a fraction (10.0 included, as openapi.yaml's `integer` promises)."""

from __future__ import annotations


import pytest

from .support.client import ADMIN_KEY, assert_problem, fresh_phone

ADMIN = {"X-API-Key": ADMIN_KEY}
LAST_SECOND = "9999-12-31T23:59:59Z"


def count(db, sql, params=()):
    return db.scalar(sql, params)


# --- phones -------------------------------------------------------------------------------

AROUND_A_PHONE = ["{}\n", "{}\r\n", "{} ", " {}", "\t{}", "{}\u2028"]


@pytest.mark.parametrize("shape", AROUND_A_PHONE)
def test_a_phone_with_anything_around_it_is_refused_and_makes_no_second_user(api, db, shape):
    phone = fresh_phone()
    api.login(phone)
    padded = shape.format(phone)
    sent = api.request_otp(padded)
    assert "phone" in assert_problem(sent, 400, "invalid_request")["detail"]
    verify = api.call("POST", "/auth/verify", {"phone": padded, "otp": "123456"})
    assert "phone" in assert_problem(verify, 400, "invalid_request")["detail"]
    # Python's `$` matches before a final "\n": that one made a second user with its own send limit.
    assert count(db, "SELECT count(*) FROM users") == 1
    assert count(db, "SELECT count(*) FROM otp_codes WHERE phone <> ?", (phone,)) == 0
    assert count(db, "SELECT count(*) FROM rate_limits WHERE key LIKE ?", ("otp:%",)) == 1


def test_finding_a_user_by_a_phone_with_a_line_break_is_a_400(api):
    phone = fresh_phone()
    api.login(phone)
    encoded = phone.replace("+", "%2B")
    assert api.call("GET", f"/users?phone={encoded}", headers=ADMIN).status == 200
    for tail in ("%0A", "%0D%0A", "%20"):
        reply = api.call("GET", f"/users?phone={encoded}{tail}", headers=ADMIN)
        assert "phone" in assert_problem(reply, 400, "invalid_request")["detail"]
