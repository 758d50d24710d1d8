"""Operators: look coupons, batches and customers up, withdraw coupons and batches, and read
the audit log that every change writes in its own transaction."""

from __future__ import annotations

import csv
import io
import time
from xml.etree import ElementTree

import pytest
import zxingcpp
from PIL import Image

from .support.client import ADMIN_KEY, Api, TestClientTransport, assert_problem, bearer
from .support.sheets import QR_ONLY

ADMIN = {"X-API-Key": ADMIN_KEY}
UNKNOWN_TOKEN = "0f0e0d0c-0b0a-4908-8706-050403020100"


def audit_actions(api) -> list[tuple[str, str, str]]:
    entries = api.call("GET", "/audit?limit=100", headers=ADMIN).body["entries"]
    return [(e["operator"], e["action"], e["target"]) for e in entries]


def test_a_coupon_as_operators_see_it(api):
    access_token, user = api.login()
    redeemed, fresh = api.generate(2, points=7, label="spring")
    assert api.scan(access_token, redeemed, device_id="pixel-8").status == 200

    reply = api.call("GET", f"/coupons/{redeemed.upper()}", headers=ADMIN)
    assert reply.status == 200
    coupon = reply.body
    assert coupon["status"] == "redeemed" and coupon["points"] == 7 and coupon["token"] == redeemed
    assert coupon["voided_at"] is None and coupon["void_reason"] is None and coupon["expires_at"] is None
    assert coupon["scan"]["user_id"] == user["id"] and coupon["scan"]["device_id"] == "pixel-8"
    assert coupon["scan"]["reversed_at"] is None and coupon["scan"]["redeemed_at"].endswith("Z")
    assert api.call("GET", f"/coupons/{fresh}", headers=ADMIN).body["status"] == "active"
    assert api.call("GET", f"/coupons/{fresh}", headers=ADMIN).body["scan"] is None


def test_an_expired_coupon_shows_expired_and_void_wins_over_expired(api, db):
    expired, voided = api.generate(2, expires_at="2099-01-01T00:00:00Z")
    db.execute("UPDATE batches SET expires_at = ?", (int(time.time()) - 5,))
    assert api.call("GET", f"/coupons/{expired}", headers=ADMIN).body["status"] == "expired"
    reply = api.call("POST", f"/coupons/{voided}/void", {"reason": "misprint"}, ADMIN)
    assert reply.status == 200 and reply.body["status"] == "void"


def test_voiding_a_coupon_stops_its_scan_and_is_audited_once(api):
    access_token, _ = api.login()
    (coupon,) = api.generate(1)
    first = api.call("POST", f"/coupons/{coupon}/void", {"reason": "photo posted online"}, ADMIN)
    assert first.status == 200 and first.body["status"] == "void"
    assert first.body["void_reason"] == "photo posted online" and first.body["voided_at"].endswith("Z")
    again = api.call("POST", f"/coupons/{coupon}/void", {"reason": "again"}, ADMIN)
    assert again.status == 200 and again.body == first.body  # answered as it is
    assert_problem(api.scan(access_token, coupon), 410, "coupon_void")
    assert audit_actions(api).count(("admin", "coupon.void", f"coupon:{coupon}")) == 1


def test_a_redeemed_coupon_cannot_be_voided(api):
    access_token, _ = api.login()
    (coupon,) = api.generate(1)
    assert api.scan(access_token, coupon).status == 200
    assert_problem(api.call("POST", f"/coupons/{coupon}/void", {"reason": "x"}, ADMIN), 409, "coupon_already_redeemed")
    assert [a for a in audit_actions(api) if a[1] == "coupon.void"] == []  # a refused action writes nothing


def test_a_batch_with_its_four_counts_and_its_void(api, db):
    access_token, _ = api.login()
    coupons = api.generate(6, points=3, label="leaky")
    batch_id = db.scalar("SELECT batch_id FROM coupons WHERE token = ?", (coupons[0],))
    for coupon in coupons[:2]:
        assert api.scan(access_token, coupon).status == 200
    assert api.call("POST", f"/coupons/{coupons[2]}/void", {"reason": "one leaked"}, ADMIN).status == 200

    batch = api.call("GET", f"/batches/{batch_id}", headers=ADMIN).body
    assert batch["label"] == "leaky" and batch["count"] == 6 and batch["points"] == 3
    assert batch["coupons"] == {"active": 3, "redeemed": 2, "expired": 0, "void": 1}

    voided = api.call("POST", f"/batches/{batch_id}/void", {"reason": "posted on a forum"}, ADMIN)
    assert voided.status == 200
    assert voided.body["coupons"] == {"active": 0, "redeemed": 2, "expired": 0, "void": 4}
    assert voided.body["void_reason"] == "posted on a forum" and voided.body["voided_at"].endswith("Z")
    for coupon in coupons[3:]:
        assert_problem(api.scan(access_token, coupon), 410, "coupon_void")
    # The redeemed stay redeemed; a second void changes nothing and writes nothing.
    assert api.call("GET", f"/coupons/{coupons[0]}", headers=ADMIN).body["status"] == "redeemed"
    assert api.call("POST", f"/batches/{batch_id}/void", {"reason": "again"}, ADMIN).body == voided.body
    assert audit_actions(api).count(("admin", "batch.void", f"batch:{batch_id}")) == 1
    assert db.scalar("SELECT count(*) FROM coupons WHERE status = 'void'") == 4


def test_an_expired_batch_counts_its_unspent_coupons_as_expired(api, db):
    access_token, _ = api.login()
    coupons = api.generate(3, expires_at="2099-01-01T00:00:00Z")
    assert api.scan(access_token, coupons[0]).status == 200
    db.execute("UPDATE batches SET expires_at = ?", (int(time.time()) - 5,))
    batch_id = db.scalar("SELECT id FROM batches")
    counts = api.call("GET", f"/batches/{batch_id}", headers=ADMIN).body["coupons"]
    assert counts == {"active": 0, "redeemed": 1, "expired": 2, "void": 0}


def test_batches_are_listed_newest_first_in_pages(api):
    for label in ("a", "b", "c"):
        api.generate(1, label=label)
    first = api.call("GET", "/batches?limit=2", headers=ADMIN).body
    assert [b["label"] for b in first["batches"]] == ["c", "b"] and first["next_before"] is not None
    rest = api.call("GET", f"/batches?limit=2&before={first['next_before']}", headers=ADMIN).body
    assert [b["label"] for b in rest["batches"]] == ["a"] and rest["next_before"] is None


def test_a_customer_is_found_by_phone(api):
    access_token, user = api.login("+15557770001")
    (coupon,) = api.generate(1, points=12)
    assert api.scan(access_token, coupon).status == 200
    for query in ("phone=%2B15557770001", "phone=+15557770001"):  # the + as typed in a shell, too
        reply = api.call("GET", f"/users?{query}", headers=ADMIN)
        assert reply.status == 200
        assert reply.body["user_id"] == user["id"] and reply.body["points"] == 12 and reply.body["scans"] == 1
    assert_problem(api.call("GET", "/users?phone=%2B15557770002", headers=ADMIN), 404, "user_not_found")
    assert_problem(api.call("GET", "/users?phone=12345", headers=ADMIN), 400, "invalid_request")
    assert_problem(api.call("GET", "/users", headers=ADMIN), 400, "invalid_request")


def test_the_audit_log_pages_and_filters(api):
    coupons = api.generate(3)
    for coupon in coupons:
        api.call("POST", f"/coupons/{coupon}/void", {"reason": "test"}, ADMIN)
    page = api.call("GET", "/audit?limit=2&action=coupon.void", headers=ADMIN).body
    assert [e["action"] for e in page["entries"]] == ["coupon.void", "coupon.void"]
    assert page["entries"][0]["target"] == f"coupon:{coupons[2]}" and page["entries"][0]["reason"] == "test"
    rest = api.call("GET", f"/audit?limit=2&action=coupon.void&before={page['next_before']}", headers=ADMIN).body
    assert len(rest["entries"]) == 1 and rest["next_before"] is None
    everything = api.call("GET", "/audit", headers=ADMIN).body["entries"]
    assert [e["action"] for e in everything] == ["coupon.void"] * 3 + ["batch.create"]
    assert_problem(api.call("GET", "/audit?action=coupon.delete", headers=ADMIN), 400, "invalid_request")


def test_void_batch_from_the_shell_is_audited_as_cli(api, runner, db):
    api.generate(4)
    batch_id = db.scalar("SELECT id FROM batches")
    result = runner.invoke(args=["void-batch", str(batch_id), "--reason", "leaked on a forum"])
    assert result.exit_code == 0 and "4 coupons void" in result.output
    assert audit_actions(api)[0] == ("cli", "batch.void", f"batch:{batch_id}")
    missing = runner.invoke(args=["void-batch", "999999", "--reason", "x"])
    assert missing.exit_code == 2 and "no batch" in missing.output
    no_reason = runner.invoke(args=["void-batch", str(batch_id), "--reason", ""])
    assert no_reason.exit_code == 2
    assert len([a for a in audit_actions(api) if a[1] == "batch.void"]) == 1


OPERATOR_ROUTES = [
    ("GET", f"/coupons/{UNKNOWN_TOKEN}", None),
    ("POST", f"/coupons/{UNKNOWN_TOKEN}/void", {"reason": "x"}),
    ("GET", "/batches", None),
    ("GET", "/batches/1", None),
    ("POST", "/batches/1/void", {"reason": "x"}),
    ("GET", "/users?phone=%2B15551234567", None),
    ("GET", "/audit", None),
    ("GET", f"/coupons/{UNKNOWN_TOKEN}/qr.png", None),
    ("GET", f"/coupons/{UNKNOWN_TOKEN}/qr.svg", None),
    ("GET", "/batches/1/coupons.csv", None),
    ("GET", "/batches/1/sheet.pdf", None),
    ("GET", "/stats", None),
]


@pytest.mark.parametrize(("method", "path", "body"), OPERATOR_ROUTES)
def test_every_operator_route_needs_an_operator_key_and_no_bearer_opens_it(api, method, path, body):
    access_token, _ = api.login()
    for headers in ({}, bearer(access_token), {"X-API-Key": "wrong"}):
        assert_problem(api.call(method, path, body, headers), 401, "unauthorized")


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("GET", "/coupons/not-a-token", None, 400, "invalid_request"),
        ("GET", "/coupons/0f0e0d0c-0b0a-1908-8706-050403020100", None, 400, "invalid_request"),  # a UUID, not v4
        ("GET", f"/coupons/{UNKNOWN_TOKEN}", None, 404, "coupon_not_found"),
        ("POST", f"/coupons/{UNKNOWN_TOKEN}/void", {"reason": "x"}, 404, "coupon_not_found"),
        ("GET", "/batches/999999", None, 404, "batch_not_found"),
        ("POST", "/batches/999999/void", {"reason": "x"}, 404, "batch_not_found"),
        ("GET", "/batches/-1", None, 400, "invalid_request"),
        ("GET", "/batches/0", None, 400, "invalid_request"),
        ("GET", "/batches/99999999999999999999", None, 400, "invalid_request"),
        ("GET", "/batches/abc", None, 400, "invalid_request"),
        ("GET", "/batches/999999/sheet.pdf", None, 404, "batch_not_found"),
        ("GET", "/batches/-1/sheet.pdf", None, 400, "invalid_request"),
        ("GET", "/batches/1e3/sheet.pdf", None, 400, "invalid_request"),
        ("POST", "/batches/-5/void", {"reason": "x"}, 400, "invalid_request"),
        ("POST", "/batches/1/void", {"reason": ""}, 400, "invalid_request"),
        ("POST", "/batches/1/void", {"reason": "r" * 501}, 400, "invalid_request"),
        ("POST", "/batches/1/void", {}, 400, "invalid_request"),
        ("POST", f"/coupons/{UNKNOWN_TOKEN}/void", {"reason": 5}, 400, "invalid_request"),
        ("GET", "/batches?limit=0", None, 400, "invalid_request"),
        ("GET", "/batches?limit=101", None, 400, "invalid_request"),
        ("GET", "/audit?before=-1", None, 400, "invalid_request"),
    ],
)
def test_bad_operator_input_is_a_4xx_problem(api, method, path, body, status, code):
    api.generate(1)  # batch 1 exists
    assert_problem(api.call(method, path, body, ADMIN), status, code)


def test_a_reason_of_500_characters_is_accepted(api, db):
    (coupon,) = api.generate(1)
    reply = api.call("POST", f"/coupons/{coupon}/void", {"reason": "r" * 500}, ADMIN)
    assert reply.status == 200 and reply.body["void_reason"] == "r" * 500


def test_coupons_generate_is_no_token(client):
    """/coupons/generate and /coupons/<token> share a shape: the first wins, for every method
    (schemathesis found OPTIONS listing GET there)."""
    response = client.get("/coupons/generate", headers=ADMIN)
    assert_problem(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == {"POST", "OPTIONS"}
    assert client.options("/coupons/generate").headers["Allow"].replace(" ", "") in ("POST,OPTIONS", "OPTIONS,POST")


def test_a_batch_exports_as_csv_with_each_coupons_status(api, db):
    access_token, user = api.login()
    coupons = api.generate(2503, points=4, expires_at="2099-01-01T00:00:00Z")  # more than a chunk
    batch_id = db.scalar("SELECT id FROM batches")
    assert api.scan(access_token, coupons[0]).status == 200
    assert api.call("POST", f"/coupons/{coupons[1]}/void", {"reason": "x"}, ADMIN).status == 200

    reply = api.call("GET", f"/batches/{batch_id}/coupons.csv", headers=ADMIN)
    assert reply.status == 200 and reply.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert list(rows[0]) == ["token", "points", "expires_at", "batch_id", "status", "redeemed_at", "user_id"]
    assert [r["token"] for r in rows] == coupons  # every coupon once, in the order they were made
    by_token = {r["token"]: r for r in rows}
    assert by_token[coupons[0]]["status"] == "redeemed" and by_token[coupons[0]]["user_id"] == str(user["id"])
    assert by_token[coupons[0]]["redeemed_at"].endswith("Z")
    assert by_token[coupons[1]]["status"] == "void" and by_token[coupons[1]]["redeemed_at"] == ""
    assert by_token[coupons[2]] == {
        "token": coupons[2],
        "points": "4",
        "expires_at": "2099-01-01T00:00:00Z",
        "batch_id": str(batch_id),
        "status": "active",
        "redeemed_at": "",
        "user_id": "",
    }


def test_an_export_of_no_batch_or_a_bad_id_is_a_problem(api):
    assert_problem(api.call("GET", "/batches/999999/coupons.csv", headers=ADMIN), 404, "batch_not_found")
    assert_problem(api.call("GET", "/batches/x/coupons.csv", headers=ADMIN), 400, "invalid_request")
    assert_problem(api.call("GET", "/batches/1/coupons.csv"), 401, "unauthorized")


def decode_png(data: bytes) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(data)), formats=QR_ONLY)]


@pytest.mark.parametrize("template", ["{token}", "https://shop.example/s/{token}?src=qr"])
def test_a_coupons_qr_code_reads_back_as_its_url(make_app, template):
    api = Api(TestClientTransport(make_app(COUPON_URL_TEMPLATE=template).test_client()))
    (coupon,) = api.generate(1)
    png = api.client.get(f"/coupons/{coupon}/qr.png", headers=ADMIN)
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert decode_png(png.data) == [template.replace("{token}", coupon)]
    bigger = api.client.get(f"/coupons/{coupon}/qr.png?scale=10", headers=ADMIN)
    assert Image.open(io.BytesIO(bigger.data)).size[0] > Image.open(io.BytesIO(png.data)).size[0]
    svg = api.client.get(f"/coupons/{coupon}/qr.svg", headers=ADMIN)
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert ElementTree.fromstring(svg.data).tag == "{http://www.w3.org/2000/svg}svg"


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        (f"/coupons/{UNKNOWN_TOKEN}/qr.png", 404, "coupon_not_found"),
        (f"/coupons/{UNKNOWN_TOKEN}/qr.svg", 404, "coupon_not_found"),
        ("/coupons/nope/qr.png", 400, "invalid_request"),
        ("/coupons/{coupon}/qr.png?scale=0", 400, "invalid_request"),
        ("/coupons/{coupon}/qr.png?scale=41", 400, "invalid_request"),
        ("/coupons/{coupon}/qr.svg?scale=x", 400, "invalid_request"),
    ],
)
def test_bad_qr_requests_are_problems(api, path, status, code):
    (coupon,) = api.generate(1)
    assert_problem(api.call("GET", path.format(coupon=coupon), headers=ADMIN), status, code)
