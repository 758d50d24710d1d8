"""Every error is an RFC 9457 problem with the contract's code, and never a traceback."""

from __future__ import annotations

import json

import pytest

from .support.client import ADMIN_KEY, assert_problem, bearer


def test_unknown_route_is_not_found(client):
    assert_problem(client.get("/nowhere"), 404, "not_found")


def test_wrong_method_is_method_not_allowed_with_allow(client):
    response = client.get("/scan")
    assert_problem(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_body_over_one_mebibyte_is_payload_too_large(client):
    body = b'{"phone": "' + b"1" * (1024 * 1024) + b'"}'
    assert_problem(client.post("/auth/otp", data=body, content_type="application/json"), 413, "payload_too_large")


@pytest.mark.parametrize(
    ("content_type", "declared", "sent", "status", "detail"),
    [
        # Each as Werkzeug's stream answers it: a length declared short, long, unreadable or zero, too big; a type in capitals with a parameter, a near miss.
        ("application/json", "100", b'{"phone": "+15551234567"}', 400, "The request could not be understood."),
        ("application/json", "10", b'{"phone": "+15551234567"}', 400, "The body is not valid JSON."),
        ("application/json", "x1", b'{"phone": "+15551234567"}', 400, "The body is not valid JSON."),
        ("application/json", "0", b"", 400, "The body is not valid JSON."),
        ("application/json", str((1 << 20) + 1), b'{"phone": "+15551234567"}', 413, None),
        ("Application/JSON ; charset=utf-8", None, b'{"phone": "+15551234567"}', 200, None),
        ("application/jsonx", None, b'{"phone": "+15551234567"}', 415, None),
    ],
)
def test_a_bodys_declared_length_and_type_are_read_as_werkzeug_reads_them(
    client, content_type, declared, sent, status, detail
):
    overrides = {} if declared is None else {"CONTENT_LENGTH": declared}
    response = client.post("/auth/otp", data=sent, content_type=content_type, environ_overrides=overrides)
    assert response.status_code == status, response.get_data(as_text=True)
    if detail is not None:
        assert response.get_json()["detail"] == detail


def test_body_that_is_not_json_content_is_unsupported(client):
    response = client.post("/auth/otp", data="phone=+15551234567", content_type="application/x-www-form-urlencoded")
    assert_problem(response, 415, "unsupported_media_type")
    assert_problem(client.post("/auth/otp"), 415, "unsupported_media_type")


def test_malformed_json_is_invalid_request(client):
    for raw in (b"{", b"not json", b"\xff\xfe", b"[1, 2]", b'"text"', b"null", b'{"phone": NaN}', b"[" * 100000):
        assert_problem(client.post("/auth/otp", data=raw, content_type="application/json"), 400, "invalid_request")


def test_unexpected_errors_are_a_500_problem_without_a_traceback(make_app, caplog):
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals: SELECT * FROM users")

    response = app.test_client().get("/boom")
    body = assert_problem(response, 500, "internal_error")
    assert "SELECT" not in response.get_data(as_text=True) and "Traceback" not in body["detail"]
    assert "secret internals" in caplog.text  # logged on the server, with its traceback


def test_a_locked_database_is_a_503_with_retry_after(make_app, db, api):
    """Another writer holds what the request needs past DATABASE_BUSY_TIMEOUT_MS: SQLite's
    write lock, or on PostgreSQL a lock on the table the batch goes into."""
    app = make_app(DATABASE_BUSY_TIMEOUT_MS="50")
    db.execute("BEGIN IMMEDIATE" if db.engine == "sqlite" else "BEGIN")
    if db.engine == "postgresql":
        db.execute("LOCK TABLE batches IN ACCESS EXCLUSIVE MODE")
    try:
        response = app.test_client().post("/coupons/generate", json={"count": 1}, headers={"X-API-Key": ADMIN_KEY})
        assert_problem(response, 503, "service_unavailable")
        assert response.headers["Retry-After"] == "1"
        if db.engine == "sqlite":  # the write lock is the whole database's; a table lock is not
            health = app.test_client().get("/health")
            assert health.status_code == 503 and health.get_json() == {"status": "unavailable"}
    finally:
        db.execute("ROLLBACK")
    assert (
        app.test_client().post("/coupons/generate", json={"count": 1}, headers={"X-API-Key": ADMIN_KEY}).status_code
        == 201
    )


@pytest.mark.engines("sqlite")
def test_a_missing_database_file_is_a_503(make_app, db_path):
    app = make_app()
    for suffix in ("", "-wal", "-shm"):
        db_path.with_name(db_path.name + suffix).unlink(missing_ok=True)
    client = app.test_client()
    assert client.get("/health").status_code == 503
    assert_problem(client.post("/auth/otp", json={"phone": "+15551234567"}), 503, "service_unavailable")
    assert not db_path.exists()  # the service never creates an empty database by itself


# Every string field of every route, each given JSON's escape for a lone surrogate: text that
# Python decodes but no database can store.
STRING_FIELDS = [
    ("/auth/otp", {"phone": None}, "phone"),
    ("/auth/verify", {"phone": "+15551234567", "otp": None}, "otp"),
    ("/auth/verify", {"phone": None, "otp": "123456"}, "phone"),
    ("/coupons/generate", {"count": 1, "label": None}, "label"),
    ("/coupons/generate", {"count": 1, "expires_at": None}, "expires_at"),
    ("/scan", {"token": None}, "token"),
    ("/scan", {"token": "0f0e0d0c-0b0a-4908-8706-050403020100", "device_id": None}, "device_id"),
]


@pytest.mark.parametrize(("path", "body", "field"), STRING_FIELDS)
@pytest.mark.parametrize("text", ["\\ud800", "ok \\udfff", "\\udc00\\ud800", "nul \\u0000 inside"])
def test_a_lone_surrogate_in_any_string_field_is_a_400_naming_it(api, path, body, field, text):
    access_token, _ = api.login()
    raw = json.dumps(body).replace("null", f'"{text}"').encode()
    headers = {"X-API-Key": ADMIN_KEY, **bearer(access_token)}
    response = api.client.post(path, data=raw, content_type="application/json", headers=headers)
    problem = assert_problem(response, 400, "invalid_request")
    assert f"'{field}'" in problem["detail"]


def test_text_beyond_ascii_is_stored_faithfully(api, db):
    label = "été 🎉 ü"
    response = api.client.post("/coupons/generate", json={"count": 1, "label": label}, headers={"X-API-Key": ADMIN_KEY})
    assert response.status_code == 201 and response.get_json()["batch"]["label"] == label
    assert db.execute("SELECT label FROM batches").fetchone()[0] == label
