"""Exactly-once redemption under real concurrency: gunicorn -w 4, real HTTP, one SQLite file."""

from __future__ import annotations

import http.client
import os
import random
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from .conftest import ADMIN_KEY, fresh_phone
from .live import LiveServer, Reply

pytestmark = pytest.mark.live


def scan(server: LiveServer, access_token: str, coupon: str) -> Reply:
    return server.call("POST", "/scan", {"token": coupon}, {"Authorization": f"Bearer {access_token}"})


def login_many(server: LiveServer, n: int) -> list[str]:
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda _: server.login(fresh_phone()), range(n)))


def race(send, arguments: list) -> Counter:
    """Call `send(argument)` for every argument from threads released at one instant; count
    the statuses."""
    start = threading.Barrier(len(arguments))

    def at_the_gun(argument) -> int:
        start.wait()
        return send(argument).status

    with ThreadPoolExecutor(len(arguments)) as pool:
        return Counter(pool.map(at_the_gun, arguments))


def assert_ledger_consistent(server: LiveServer) -> None:
    with server.database() as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert (
            db.execute("SELECT count(*) FROM scans").fetchone()[0]
            == db.execute("SELECT count(*) FROM coupons WHERE status = 'redeemed'").fetchone()[0]
        )
        mismatched = db.execute(
            """
            SELECT u.id FROM users u
            LEFT JOIN (SELECT user_id, sum(points) AS total, count(*) AS n FROM ledger_entries GROUP BY user_id) l
                ON l.user_id = u.id
            WHERE u.balance <> coalesce(l.total, 0) OR u.scans <> coalesce(l.n, 0)
            """
        ).fetchall()
        assert mismatched == []


def test_fifty_clients_race_for_one_coupon(gunicorn):
    server = gunicorn(workers=4)
    tokens = login_many(server, 50)
    (coupon,) = server.generate(1, ADMIN_KEY)
    statuses = race(lambda access_token: scan(server, access_token, coupon), tokens)
    assert statuses == {200: 1, 409: 49}
    with server.database() as db:
        assert db.execute("SELECT count(*) FROM scans").fetchone()[0] == 1
    assert_ledger_consistent(server)


def test_many_users_many_coupons_every_wallet_adds_up(gunicorn):
    server = gunicorn(workers=4)
    tokens = login_many(server, 20)
    coupons = server.generate(150, ADMIN_KEY, points=3)
    attempts = [(t, c) for c in coupons for t in random.sample(tokens, 3)]
    random.shuffle(attempts)

    with ThreadPoolExecutor(32) as pool:
        replies = list(pool.map(lambda a: (a[0], a[1], scan(server, *a)), attempts))

    wins = [(t, c, r) for t, c, r in replies if r.status == 200]
    assert {r.status for _, _, r in replies} <= {200, 409}
    assert sorted(c for _, c, _ in wins) == sorted(coupons)  # every coupon once, none twice
    credited = Counter()
    for access_token, _, reply in wins:
        credited[access_token] += reply.body["points"]
    for access_token in tokens:
        wallet = server.call("GET", "/users/me/wallet", headers={"Authorization": f"Bearer {access_token}"}).body
        assert wallet["points"] == credited[access_token]
    assert_ledger_consistent(server)


def answered_under_fire(server: LiveServer, kill, seconds: float = 4.0) -> list[tuple[float, str]]:
    """Scan distinct coupons from 16 threads while `kill(server)` fires: (when, coupon) of
    every 200, `when` taken as the answer arrived (time.monotonic)."""
    tokens = login_many(server, 16)
    coupons = server.generate(10_000, ADMIN_KEY)
    pending = iter(coupons)
    lock = threading.Lock()
    won: list[tuple[float, str]] = []
    failures = Counter()
    deadline = time.monotonic() + seconds

    def load(access_token: str) -> None:
        while time.monotonic() < deadline:
            with lock:
                coupon = next(pending)
            try:
                reply = scan(server, access_token, coupon)
            except (OSError, http.client.HTTPException, ValueError):
                # The worker died under this request (a reset, a cut status line or body): it
                # was never answered 200.
                failures["dropped"] += 1
                continue
            if reply.status == 200:
                with lock:
                    won.append((time.monotonic(), coupon))
            else:
                failures[reply.status] += 1

    threads = [threading.Thread(target=load, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    kill(server)
    for thread in threads:
        thread.join()
    assert set(failures) <= {"dropped", 502, 503}, failures
    return won


def test_sigkilled_workers_lose_no_answered_redemption(gunicorn):
    server = gunicorn(workers=4)

    def kill_workers(server: LiveServer) -> None:
        for _ in range(3):
            time.sleep(0.8)
            os.kill(random.choice(server.workers()), signal.SIGKILL)

    won = answered_under_fire(server, kill_workers)
    assert len(won) > 50
    with server.database() as db:
        redeemed = {r[0] for r in db.execute("SELECT c.token FROM scans s JOIN coupons c ON c.id = s.coupon_id")}
    assert {coupon for _, coupon in won} <= redeemed
    assert server.call("GET", "/health").status == 200  # the master replaced the dead workers
    assert_ledger_consistent(server)


def test_otp_send_limit_holds_with_workers_racing(gunicorn):
    server = gunicorn(workers=4, OTP_SEND_LIMIT="5")
    phone = fresh_phone()
    statuses = race(lambda _: server.call("POST", "/auth/otp", {"phone": phone}), list(range(30)))
    assert statuses == {200: 5, 429: 25}


def test_scan_rate_limit_holds_with_workers_racing(gunicorn):
    server = gunicorn(workers=4, SCAN_RATE_LIMIT="10 per minute")
    access_token = server.login(fresh_phone())
    coupons = server.generate(30, ADMIN_KEY)
    statuses = race(lambda coupon: scan(server, access_token, coupon), coupons)
    assert statuses == {200: 10, 429: 20}


def test_auth_address_limit_holds_with_workers_racing(gunicorn):
    server = gunicorn(workers=4, AUTH_IP_RATE_LIMIT="10 per hour")
    statuses = race(lambda _: server.call("POST", "/auth/otp", {"phone": fresh_phone()}), list(range(30)))
    assert statuses == {200: 10, 429: 20}
