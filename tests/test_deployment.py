"""Deployment as the README and contract describe it: gunicorn.conf.py, PORT, .env."""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import time
from urllib.parse import quote

import pytest

from rewards.config import DEVELOPMENT_VALUES

from .support.engines import TestDatabase
from .support.servers import GUNICORN, ROOT, LiveServer, free_port, service_env, wait_until_serving

pytestmark = pytest.mark.live


def test_gunicorn_reads_port_and_dotenv_from_the_working_directory(database: TestDatabase, tmp_path):
    (tmp_path / ".env").write_text(f"DATABASE_URL={database.url}\nOTP_DELIVERY=response\n")
    port = free_port()
    env = service_env(database, {"PORT": str(port)})
    for name in ("DATABASE_URL", "OTP_DELIVERY"):
        env.pop(name)
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*GUNICORN, "--pythonpath", str(ROOT), "-c", str(ROOT / "gunicorn.conf.py"), "app:app"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", database, process, log)
    try:
        wait_until_serving(server)
        reply = server.api.request_otp("+15551234567")
        assert reply.status == 200 and len(reply.body["otp"]) == 6  # OTP_DELIVERY came from .env
        with server.probe() as db:  # and so did DATABASE_URL
            assert db.scalar("SELECT count(*) FROM otp_codes") == 1
        time.sleep(0.2)
        assert '"POST /auth/otp HTTP/1.1" 200' in server.log()  # the access log is on
    finally:
        server.stop()


@pytest.mark.engines("sqlite")
def test_health_on_gunicorn_says_503_when_the_database_is_gone(gunicorn):
    server = gunicorn(workers=2)
    assert server.api.call("GET", "/health").body == {"status": "ok"}
    for suffix in ("", "-wal", "-shm"):
        server.db_path.with_name(server.db_path.name + suffix).unlink(missing_ok=True)
    reply = server.api.call("GET", "/health")
    assert reply.status == 503 and reply.body == {"status": "unavailable"}


@pytest.mark.engines("postgresql")
def test_health_on_gunicorn_says_503_when_the_database_is_dropped(gunicorn, postgres, database):
    server = gunicorn(workers=2)
    assert server.api.call("GET", "/health").body == {"status": "ok"}
    postgres.drop(database.url)
    reply = server.api.call("GET", "/health")
    assert reply.status == 503 and reply.body == {"status": "unavailable"}
    assert "password" not in server.log().lower()


def raw_exchange(server: LiveServer, request: bytes) -> tuple[str, dict[str, str], dict]:
    """Send bytes that http.client would refuse to send; parse the status, headers and body."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in header_lines)}
    return status_line, headers, json.loads(body)


@pytest.mark.parametrize(
    ("request_bytes", "names"),
    [
        (b"GET /users/me/wallet?limit=" + b"9" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", "request line"),
        (b"GET /version HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", "headers"),
        (b"NOT AN HTTP REQUEST AT ALL\r\n\r\n", "parsed"),
    ],
)
@pytest.mark.engines("sqlite")  # gunicorn refuses these before any database is asked
def test_requests_gunicorn_refuses_are_contract_problems_too(gunicorn, request_bytes, names):
    """gunicorn's own 414/431/400 pages become the contract's 400 invalid_request problem, with
    the nosniff every answer carries."""
    server = gunicorn(workers=2)
    status_line, headers, body = raw_exchange(server, request_bytes)
    assert status_line.startswith("HTTP/1.1 400 ")
    assert headers["content-type"] == "application/problem+json"
    assert headers["x-content-type-options"] == "nosniff"
    assert body["status"] == 400 and body["code"] == "invalid_request" and names in body["detail"]
    assert "999999" not in body["detail"]  # nothing of the request is echoed back


def post_chunked(server: LiveServer, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    """POST with Transfer-Encoding: chunked and no Content-Length, as a streaming client does."""
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        pieces = (body[i : i + 65536] for i in range(0, len(body), 65536))
        conn.request(
            "POST", path, body=pieces, headers={"Content-Type": "application/json", **headers}, encode_chunked=True
        )
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.mark.parametrize("path", ["/auth/otp", "/auth/verify", "/coupons/generate", "/scan"])
@pytest.mark.engines("sqlite")  # the body is refused before any database is asked
def test_a_chunked_body_over_one_mebibyte_is_payload_too_large(gunicorn, path):
    server = gunicorn(workers=2)
    access_token = server.api.login("+15557654321").access_token
    headers = {"X-API-Key": DEVELOPMENT_VALUES["ADMIN_API_KEY"], "Authorization": f"Bearer {access_token}"}
    oversized = b'{"label": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    status, body = post_chunked(server, path, oversized, headers)
    assert status == 413 and body["code"] == "payload_too_large"
    # Within the limit a chunked body is read whole, like any other.
    status, body = post_chunked(server, "/auth/otp", b'{"phone": "+15551230000"}', {})
    assert status == 200 and body["status"] == "sent"


def status_of(
    server: LiveServer, method: str, path: str, body: bytes, headers: dict[str, str], *, chunked: bool
) -> int:
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        sent = (body[i : i + 65536] for i in range(0, len(body), 65536)) if chunked else body
        conn.request(
            method, path, body=sent, headers={"Content-Type": "application/json", **headers}, encode_chunked=chunked
        )
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("POST", "/users/me/payouts", {"Authorization": "Bearer not-a-token"}, 401),  # who, before what
        ("POST", "/nowhere", {}, 404),
        ("POST", "/health", {}, 405),
        ("GET", "/health", {}, 200),  # a route that reads no body never refuses one
    ],
)
@pytest.mark.engines("sqlite")  # the answers come before any body is read
def test_a_chunked_body_over_one_mebibyte_is_answered_as_a_declared_one(gunicorn, method, path, headers, status):
    server = gunicorn(workers=2)
    oversized = b'{"points": "' + b"1" * (1024 * 1024 + 10) + b'"}'
    declared = status_of(server, method, path, oversized, headers, chunked=False)
    assert declared == status
    assert status_of(server, method, path, oversized, headers, chunked=True) == declared


def post_chunked_form(server: LiveServer, path: str, body: bytes, cookie: str) -> tuple[int, dict[str, str], str]:
    """A page's form sent chunked (no Content-Length): its status, headers and page."""
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        pieces = (body[i : i + 65536] for i in range(0, len(body), 65536))
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
        conn.request("POST", path, body=pieces, headers=headers, encode_chunked=True)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
    finally:
        conn.close()


@pytest.mark.engines("sqlite")  # the body is refused before any database is asked
def test_a_chunked_form_is_read_whole_and_refused_as_a_page_over_one_mebibyte(gunicorn):
    """A chunked form was cut at 1 MiB and its page answered 400 "the form has expired"; it is
    read whole within the limit, and over it refused 413 with the page that says so."""
    server = gunicorn(workers=2)
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("GET", "/sign-in")
    page = conn.getresponse()
    cookie = "; ".join(c.split(";", 1)[0] for c in page.headers.get_all("Set-Cookie"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode()).group(1)
    conn.close()
    form = f"csrf_token={quote(token)}&phone=%2B15551230000".encode()

    # Within the limit, padded so that the phone comes after the first chunk: read whole.
    status, headers, _page = post_chunked_form(
        server, "/sign-in", b"next=%2Fme&pad=" + b"p" * 200_000 + b"&" + form, cookie
    )
    assert status == 303 and "/sign-in/code" in headers["location"]

    status, headers, html = post_chunked_form(server, "/sign-in", form + b"&pad=" + b"p" * (1024 * 1024), cookie)
    assert status == 413 and headers["content-type"].startswith("text/html")
    assert "Too much" in html and "What was sent is too large." in html


def test_workers_recycled_by_max_requests_are_forks_that_answer_at_once(gunicorn):
    """gunicorn.conf.py preloads the app and compiles the pages in the master: every worker,
    those max_requests recycles included, is a fork of it that opens its own connection."""
    server = gunicorn(workers=2, GUNICORN_CMD_ARGS="--max-requests 3 --max-requests-jitter 0")
    for n in range(12):
        assert server.api.request_otp(f"+1555600{n:04d}").status == 200  # a write in each
        assert server.api.call("GET", "/console/sign-in?lang=hi").status == 200
    with server.probe() as db:
        assert db.scalar("SELECT count(*) FROM otp_codes") == 12
    time.sleep(0.5)
    log = server.log()
    # Two workers at start, and at least six more after them: forks of the loaded app, whose
    # loading (and its compiling of the pages) happened once, before the first of them.
    assert log.count("Booting worker") >= 8
    assert "Traceback" not in log
