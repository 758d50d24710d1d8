"""Issue #14: gunicorn's sync workers behind nginx, configured by deploy/nginx/rewards.conf.template
rendered as the README says. Slow clients are held by nginx and never reach a worker; the client
address the limits count is the one nginx saw, whatever the client claims; bodies over 1 MiB are
refused at the door; nginx's own refusals are the contract's problems."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from .support.client import ADMIN_KEY, assert_problem, fresh_phone
from .support.nginx import start_nginx
from .support.servers import free_port

# nginx never looks at the database, and the per-address limit is counted the same way on both
# engines (tests/test_auth.py proves it on each): SQLite alone here.
pytestmark = [pytest.mark.live, pytest.mark.engines("sqlite")]

SLOW_PAUSE = 2.0  # seconds between two header lines of a slow client, as in the issue


@pytest.fixture
def behind_nginx(gunicorn, tmp_path) -> Iterator[Any]:
    """gunicorn with PROXY_COUNT=1 (three sync workers, as the issue's) and nginx in front."""
    started = []

    def start(**env: str):
        server = gunicorn(workers=3, PROXY_COUNT="1", **env)
        nginx = start_nginx(server.url.removeprefix("http://"), tmp_path / f"nginx{len(started)}")
        started.append(nginx)
        return server, nginx

    yield start
    for nginx in started:
        nginx.stop()


@contextmanager
def slow_clients(port: int, count: int) -> Iterator[dict[str, int]]:
    """`count` connections that send a request's headers one line every SLOW_PAUSE seconds and
    never finish them, kept up by a thread until the block ends. Yields counts: lines sent and
    sockets the server closed or reset."""
    sockets = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]
    tally = {"lines": 0, "closed": 0}
    stop = threading.Event()

    def send_line(sock: socket.socket, line: bytes) -> None:
        try:
            sock.sendall(line)
            tally["lines"] += 1
        except OSError:
            tally["closed"] += 1

    def dribble() -> None:
        for round_ in range(100):  # bounded: 200 s at most, far beyond any test here
            for sock in sockets:
                send_line(sock, f"X-Slow-{round_}: still coming\r\n".encode())
            if stop.wait(SLOW_PAUSE):
                return

    for sock in sockets:
        send_line(sock, b"GET /health HTTP/1.1\r\nHost: rewards\r\n")
    thread = threading.Thread(target=dribble, daemon=True)
    thread.start()
    try:
        yield tally
    finally:
        stop.set()
        thread.join(timeout=10)
        for sock in sockets:
            sock.close()


def health_within(url: str, seconds: float) -> float:
    """GET /health; how long the answer took. Raises (socket timeout) past `seconds`."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=seconds)
    started = time.monotonic()
    try:
        conn.request("GET", "/health")
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read()) == {"status": "ok"}
        return time.monotonic() - started
    finally:
        conn.close()


def test_without_nginx_a_few_slow_clients_stop_gunicorn(gunicorn):
    """The issue's attack, against gunicorn alone: the baseline the next test is measured by."""
    server = gunicorn(workers=3)
    port = int(server.url.rsplit(":", 1)[1])
    with slow_clients(port, 6):
        time.sleep(0.5)  # every worker has taken a slow client by now
        with pytest.raises(OSError):  # socket.timeout: no answer within a second
            health_within(server.url, 1.0)


def test_behind_nginx_200_slow_clients_leave_health_answering_within_a_second(behind_nginx):
    server, nginx = behind_nginx()
    with slow_clients(nginx.port, 200) as tally:
        took = []
        for _ in range(6):  # across three rounds of header lines
            time.sleep(SLOW_PAUSE / 2)
            took.append(health_within(nginx.url, 1.0))
        assert tally["closed"] == 0, tally  # nginx held every slow client open all along
        assert tally["lines"] >= 200 * 3
    assert max(took) < 1.0, took
    # The slow clients never reached gunicorn: its workers saw the probes only.
    time.sleep(0.2)  # the access log line follows the answer
    assert server.log().count("GET /health ") == len(took)


def post_from(source: str, nginx, path: str, body: dict, headers: dict[str, str] | None = None):
    """POST through nginx from the loopback address `source` (all of 127/8 is this machine)."""
    conn = http.client.HTTPConnection("127.0.0.1", nginx.port, timeout=10, source_address=(source, 0))
    try:
        conn.request(
            "POST", path, body=json.dumps(body), headers={"Content-Type": "application/json", **(headers or {})}
        )
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_the_auth_limit_counts_the_address_nginx_saw_whatever_the_client_claims(behind_nginx):
    _, nginx = behind_nginx(AUTH_IP_RATE_LIMIT="3 per hour")

    def otp(source: str, claimed: str | None = None) -> tuple[int, dict]:
        headers = {"X-Forwarded-For": claimed} if claimed else {}
        return post_from(source, nginx, "/auth/otp", {"phone": fresh_phone()}, headers)

    assert [otp("127.0.0.1")[0] for _ in range(3)] == [200, 200, 200]
    status, body = otp("127.0.0.1")
    assert status == 429 and body["code"] == "rate_limited"
    # Claiming another address does not escape the limit ...
    assert otp("127.0.0.1", claimed="198.51.100.7")[0] == 429
    assert otp("127.0.0.1", claimed="198.51.100.7, 203.0.113.9")[0] == 429
    # ... another machine is counted apart ...
    assert otp("127.0.0.2")[0] == 200
    # ... and one claiming 127.0.0.1's address is counted as itself: its second and third
    # calls pass, its fourth is refused, whatever it claimed.
    assert [otp("127.0.0.2", claimed="127.0.0.1")[0] for _ in range(2)] == [200, 200]
    assert otp("127.0.0.2", claimed="127.0.0.3")[0] == 429


def send_raw(nginx, head: bytes, body_chunks=()) -> tuple[int, dict[str, str], dict]:
    """Send a request as bytes (a Content-Length or chunks http.client would not send as is)."""
    with socket.create_connection(("127.0.0.1", nginx.port), timeout=10) as sock:
        sock.sendall(head)
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
        except OSError:
            pass  # nginx answered and closed before the body was all sent: what is asked here
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(response.read())


def test_a_body_over_one_mebibyte_is_refused_at_the_door_as_a_problem(behind_nginx):
    server, nginx = behind_nginx()
    headers = f"Host: rewards\r\nContent-Type: application/json\r\nX-API-Key: {ADMIN_KEY}\r\n"
    # Announced: refused before a byte of the body is read.
    head = f"POST /coupons/generate HTTP/1.1\r\n{headers}Content-Length: {(1 << 20) + 1}\r\n\r\n".encode()
    status, got, body = send_raw(nginx, head)
    assert status == 413 and got["content-type"] == "application/problem+json"
    assert got["x-content-type-options"] == "nosniff"
    assert body["code"] == "payload_too_large" and body["status"] == 413 and body["type"] == "about:blank"
    # Chunked: refused once 1 MiB has gone by.
    head = f"POST /coupons/generate HTTP/1.1\r\n{headers}Transfer-Encoding: chunked\r\n\r\n".encode()
    chunk = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
    status, _, body = send_raw(nginx, head, [chunk] * 17 + [b"0\r\n\r\n"])
    assert status == 413 and body["code"] == "payload_too_large"
    # A body within the limit goes through, and is the only one gunicorn ever saw.
    reply = nginx.api.call("POST", "/coupons/generate", {"count": 1}, {"X-API-Key": ADMIN_KEY})
    assert reply.status == 201
    deadline = time.monotonic() + 5
    while '"POST /coupons/generate' not in server.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.log().count('"POST /coupons/generate') == 1


def test_no_path_through_nginx_redirects_to_the_host_it_was_sent(behind_nginx):
    _, nginx = behind_nginx()
    for path in ("/users//1/wallet", "//users/1/wallet", "/health/"):
        reply = nginx.api.call("GET", path, headers={"Host": "evil.example"})
        assert_problem(reply, 404, "not_found")
        assert "Location" not in reply.headers


def test_gunicorn_away_is_a_503_problem_from_nginx(tmp_path):
    nginx = start_nginx(f"127.0.0.1:{free_port()}", tmp_path / "nginx")  # nothing listens there
    try:
        reply = nginx.api.call("GET", "/health")
        assert_problem(reply, 503, "service_unavailable")
        assert reply.headers["Retry-After"] == "5"
    finally:
        nginx.stop()
