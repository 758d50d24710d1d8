"""Input in exactly the forms the contract names, and nothing near them: a phone is E.164 and
nothing else, a time is RFC 3339 in the years 0001 to 9999 (UTC), and a whole number is a JSON
number without a fraction (10.0 included, as openapi.yaml's `integer` promises)."""

from __future__ import annotations

import csv

import pytest
import yaml

from .support.client import ADMIN_KEY, assert_problem, bearer, fresh_phone
from .support.servers import ROOT
from .support.sheets import read_sheet

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


# --- times --------------------------------------------------------------------------------

NOT_RFC_3339 = [
    "9999-12-31T23:59:59-23:59",  # year 10000 in UTC
    "9999-12-31T23:59:60Z",  # a leap second past the last one
    "2099-W01-1T00:00:00Z",  # ISO 8601 week date
    "20990101T000000Z",  # ISO 8601 basic format
    "2099-01-01 00:00:00Z",  # a space for the T
    "2099-01-01T00:00:00",  # no time zone
    "2099-01-01T00:00Z",  # no seconds
    "2099-01-01T00:00:00+0100",  # offset without its colon
    "2099-01-01T00:00:00+24:00",
    "2099-01-01T00:00:00Z\n",
    " 2099-01-01T00:00:00Z",
    "2099-02-30T00:00:00Z",
    "２０９９-01-01T00:00:00Z",  # digits, but not ASCII ones
]


@pytest.mark.parametrize("expires_at", NOT_RFC_3339)
def test_an_expiry_that_is_not_rfc_3339_in_years_1_to_9999_is_a_400(api, db, expires_at):
    reply = api.call("POST", "/coupons/generate", {"count": 1, "expires_at": expires_at}, ADMIN)
    assert "expires_at" in assert_problem(reply, 400, "invalid_request")["detail"]
    assert count(db, "SELECT count(*) FROM batches") == 0


@pytest.mark.parametrize("expires_at", ["9999-12-31T23:59:59-23:59", "2099-W01-1T00:00:00Z", "20990101T000000Z"])
def test_gen_coupons_refuses_an_expiry_that_is_not_rfc_3339_with_exit_2(runner, db, tmp_path, expires_at):
    out = tmp_path / "coupons.csv"
    result = runner.invoke(args=["gen-coupons", "--count", "2", "--expires-at", expires_at, "--output", str(out)])
    assert result.exit_code == 2 and "RFC 3339" in result.output
    assert count(db, "SELECT count(*) FROM batches") == 0 and count(db, "SELECT count(*) FROM coupons") == 0


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("2099-06-30t23:59:59z", "2099-06-30T23:59:59Z"),
        ("2099-06-30T23:59:59.999+05:30", "2099-06-30T18:29:59Z"),
        ("2099-12-31T23:30:00-01:00", "2100-01-01T00:30:00Z"),
        ("9999-12-31T23:59:59+23:59", "9999-12-31T00:00:59Z"),
    ],
)
def test_an_rfc_3339_expiry_is_stored_in_utc(api, given, stored):
    reply = api.call("POST", "/coupons/generate", {"count": 1, "expires_at": given}, ADMIN)
    assert reply.status == 201, reply.body
    assert reply.body["batch"]["expires_at"] == stored and reply.body["coupons"][0]["expires_at"] == stored


def test_the_last_second_of_9999_is_an_expiry_that_shows_prints_and_exports(api, runner, db, tmp_path):
    reply = api.call("POST", "/coupons/generate", {"count": 3, "points": 5, "expires_at": LAST_SECOND}, ADMIN)
    assert reply.status == 201, reply.body
    batch_id = reply.body["batch"]["id"]
    tokens = [coupon["token"] for coupon in reply.body["coupons"]]
    assert reply.body["batch"]["expires_at"] == LAST_SECOND
    assert {coupon["expires_at"] for coupon in reply.body["coupons"]} == {LAST_SECOND}
    assert api.call("GET", f"/coupons/{tokens[0]}", headers=ADMIN).body["expires_at"] == LAST_SECOND
    access_token, _ = api.login()
    assert api.scan(access_token, tokens[0]).status == 200  # not expired, and not overflowing either

    sheet = api.call("GET", f"/batches/{batch_id}/sheet.pdf", headers=ADMIN)
    assert sheet.status == 200 and sheet.mimetype == "application/pdf"
    codes, _, _ = read_sheet(sheet.data)  # a whole PDF: its xref table holds, every code decodes
    assert sorted(codes) == sorted(tokens)  # every coupon but the void ones

    printed = tmp_path / "sheet.pdf"
    result = runner.invoke(args=["print-batch", str(batch_id), "--output", str(printed)])
    assert result.exit_code == 0, result.output
    assert sorted(read_sheet(printed.read_bytes())[0]) == sorted(tokens)

    exported = api.call("GET", f"/batches/{batch_id}/coupons.csv", headers=ADMIN)
    assert {row["expires_at"] for row in csv.DictReader(exported.text.splitlines())} == {LAST_SECOND}


def test_gen_coupons_takes_the_last_second_of_9999(runner, db, tmp_path):
    out = tmp_path / "coupons.csv"
    result = runner.invoke(args=["gen-coupons", "--count", "2", "--expires-at", LAST_SECOND, "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert {row["expires_at"] for row in csv.DictReader(out.read_text().splitlines())} == {LAST_SECOND}


# --- whole numbers ------------------------------------------------------------------------


def test_a_whole_number_written_with_a_zero_fraction_is_that_number(api, db):
    generated = api.call("POST", "/coupons/generate", {"count": 2.0, "points": 30.0}, ADMIN)
    assert generated.status == 201, generated.body
    assert generated.body["batch"]["count"] == 2 and generated.body["batch"]["points"] == 30
    assert len(generated.body["coupons"]) == 2
    access_token, user = api.login()
    assert api.scan(access_token, generated.body["coupons"][0]["token"]).status == 200
    adjusted = api.call("POST", f"/users/{user['id']}/adjustments", {"points": -5.0, "reason": "typo"}, ADMIN)
    assert adjusted.status == 201, adjusted.body
    assert adjusted.body["transaction"]["points"] == -5 and adjusted.body["balance"] == 25
    paid = api.call("POST", "/users/me/payouts", {"points": 1e1}, bearer(access_token))
    assert paid.status == 201, paid.body
    assert paid.body["payout"]["points"] == 10 and paid.body["balance"] == 15
    assert '"points":10,' in paid.text.replace(" ", "")  # answered as an integer, not 10.0
    assert count(db, "SELECT sum(points) FROM ledger_entries") == 15


BODIES = [
    ("/coupons/generate", {"count": 1.5}),
    ("/coupons/generate", {"count": 1, "points": 10.5}),
    ("/coupons/generate", {"count": 1e300}),
    ("/coupons/generate", {"count": True}),
    ("/users/me/payouts", {"points": 0.5}),
    ("/users/me/payouts", {"points": -1e300}),
    ("/users/me/payouts", {"points": 1e300}),
    ("/users/{id}/adjustments", {"points": 1e300, "reason": "huge"}),
    ("/users/{id}/adjustments", {"points": -3.5, "reason": "half"}),
    ("/users/{id}/adjustments", {"points": -0.0, "reason": "nothing"}),
]


@pytest.mark.parametrize(("path", "body"), BODIES)
def test_a_fraction_or_a_number_out_of_range_is_a_400_naming_the_field(api, db, path, body):
    access_token, user = api.login()
    headers = {**ADMIN, **bearer(access_token)}
    reply = api.call("POST", path.replace("{id}", str(user["id"])), body, headers)
    field = "points" if "points" in body else "count"
    assert f"'{field}'" in assert_problem(reply, 400, "invalid_request")["detail"]
    assert count(db, "SELECT count(*) FROM ledger_entries") == 0 and count(db, "SELECT count(*) FROM batches") == 0


@pytest.mark.parametrize("raw", ['{"count": 1e400}', '{"count": -1e400}', '{"count": 1E+999}'])
def test_a_number_too_big_for_a_float_is_a_400(api, raw):
    response = api.client.post("/coupons/generate", data=raw, headers={**ADMIN, "Content-Type": "application/json"})
    assert_problem(response, 400, "invalid_request")


def test_the_spec_declares_what_the_idempotent_and_rate_limited_operations_answer():
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    idempotent, limited = {}, {"scanCoupon", "requestPayout"}
    for item in spec["paths"].values():
        for operation in item.values():
            refs = [p.get("$ref", "") for p in operation.get("parameters", []) if isinstance(p, dict)]
            if "#/components/parameters/idempotencyKey" in refs:
                idempotent[operation["operationId"]] = operation["responses"]
    assert set(idempotent) == {"generateCoupons", "scanCoupon", "requestPayout", "adjustBalance"}
    for operation_id, responses in idempotent.items():
        assert "422" in responses, operation_id
        assert ("429" in responses) == (operation_id in limited), operation_id
