"""Faults: killed processes, a writer sitting on a lock, a database server stopped and started,
a read-only or full disk, backups under load. Whatever happens, an answered 200 is never lost,
nothing is half-written, and no request gets a 500."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import threading
import time

import pytest

from rewards.db.sqlite import SqliteBackend, begin_immediate

from .support.client import Api, TestClientTransport, bearer, fresh_phone
from .support.disks import tmpfs
from .support.engines import PASSWORD, RestartablePostgres, TestDatabase, new_sqlite_database
from .support.invariants import assert_invariants
from .support.races import answered_under_fire, login_many
from .support.servers import (
    FLASK,
    ROOT,
    LiveServer,
    free_port,
    run_in_repo,
    service_env,
    start_gunicorn,
    wait_until_serving,
)

pytestmark = pytest.mark.live


def redeemed_tokens(db) -> set[str]:
    return {r[0] for r in db.execute("SELECT c.token FROM scans s JOIN coupons c ON c.id = s.coupon_id")}


def test_sigkilled_master_loses_nothing_and_make_run_brings_it_back(gunicorn, database, db, tmp_path):
    server = gunicorn(workers=4)
    access_tokens = login_many(server.api, 16)
    coupons = server.api.generate(10_000)

    def kill_master() -> None:
        time.sleep(1.5)
        os.kill(server.process.pid, signal.SIGKILL)

    won, failures = answered_under_fire(lambda: server.api, access_tokens, coupons, kill_master, seconds=3.0)
    assert set(failures) <= {"dropped", 502, 503}, failures
    assert len(won) > 20
    server.stop()  # the orphaned workers too

    port = free_port()
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["make", "run"],
            cwd=ROOT,
            env=service_env(database, {"PORT": str(port)}),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    revived = LiveServer(f"http://127.0.0.1:{port}", database, process, log)
    try:
        wait_until_serving(revived, timeout=120)
        assert revived.api.call("GET", "/health").status == 200
        assert {coupon for _, coupon in won} <= redeemed_tokens(db)
        assert_invariants(db)
        access_token = revived.api.login().access_token
        (coupon,) = revived.api.generate(1)
        assert revived.api.scan(access_token, coupon).status == 200
    finally:
        revived.stop()


@contextlib.contextmanager
def lock_held(db, hot_coupon: str):
    """Another connection takes what a redemption of `hot_coupon` needs and sits on it: on
    SQLite the write lock, on PostgreSQL the coupon's row."""
    if db.engine == "sqlite":
        db.execute("BEGIN IMMEDIATE")
    else:
        db.execute("BEGIN")
        db.execute("SELECT id FROM coupons WHERE token = ? FOR UPDATE", (hot_coupon,))
    try:
        yield
    finally:
        db.execute("ROLLBACK")


def test_connections_opened_as_other_processes_close_the_file_wait_rather_than_fail(tmp_path):
    """A recycled gunicorn worker opens its connection as a neighbour's closes (the last one
    out checkpoints the WAL): each of its first statements waits for the WAL index, none
    answers "database is locked" (a 503 to a visitor)."""
    database = new_sqlite_database(tmp_path)
    backend = SqliteBackend(str(database.path), 5000)
    children = []
    for _ in range(3):
        pid = os.fork()
        if pid == 0:  # a process that only opens, writes once and closes, for two seconds
            failed, ends = 0, time.monotonic() + 2
            while time.monotonic() < ends:
                try:
                    conn = backend.connect()
                    begin_immediate(conn)
                    conn.execute(
                        "INSERT INTO rate_limits (key, window_start, hits) VALUES ('faults', 0, 1) "
                        "ON CONFLICT (key) DO UPDATE SET hits = hits + 1"
                    )
                    conn.execute("COMMIT")
                    conn.close()
                except sqlite3.OperationalError:
                    failed += 1
            os._exit(min(failed, 100))
        children.append(pid)
    failures = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
    assert failures == [0, 0, 0]
    conn = backend.connect()
    assert conn.execute("SELECT hits FROM rate_limits WHERE key = 'faults'").fetchone()[0] > 0
    conn.close()


def test_lock_held_past_the_lock_timeout_is_a_bounded_503(gunicorn, db):
    """Many workers, one hot coupon, and a long-running writer sitting on the lock."""
    server = gunicorn(workers=4, DATABASE_BUSY_TIMEOUT_MS="300")
    tokens = login_many(server.api, 8)
    (hot,) = server.api.generate(1)
    results = []

    def attempt(access_token: str) -> None:
        started = time.monotonic()
        reply = server.api.scan(access_token, hot)
        results.append((reply, time.monotonic() - started))

    with lock_held(db, hot):
        threads = [threading.Thread(target=attempt, args=(t,)) for t in tokens]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for reply, elapsed in results:
        assert reply.status == 503 and reply.body["code"] == "service_unavailable"
        assert reply.headers["Retry-After"] == "1"
        assert elapsed < 3  # the lock timeout plus a little queueing, not a hang
    # The writer is gone: the hot coupon now goes to exactly one of them.
    assert sorted(server.api.scan(t, hot).status for t in tokens) == [200] + [409] * 7
    assert "Traceback" not in server.log()
    assert_invariants(db)


@pytest.mark.engines("postgresql")
def test_postgres_stopped_and_started_under_load(tmp_path):
    """The database server goes away under load and comes back: meanwhile 503 problems, never a
    500; afterwards the same gunicorn serves again by itself, and every answered 200 is there."""
    postgres = RestartablePostgres(tmp_path / "pg")
    database = TestDatabase("postgresql", postgres.new_database())
    server = start_gunicorn(database, tmp_path / "live", workers=4)
    try:
        access_tokens = login_many(server.api, 8)
        coupons = server.api.generate(10_000)

        def outage() -> None:
            time.sleep(1.0)
            postgres.stop()
            time.sleep(1.5)
            postgres.start()

        won, failures = answered_under_fire(lambda: server.api, access_tokens, coupons, outage, seconds=5.0)
        assert failures[503] > 0, failures  # the outage was seen...
        assert set(failures) <= {503}, failures  # ...as 503 problems, nothing else
        assert len(won) > 20
        # Back by itself: no restart of gunicorn.
        assert server.api.call("GET", "/health").status == 200
        assert server.api.scan(access_tokens[0], coupons[-1]).status == 200
        # A restart while idle: every worker's kept connection is dead, and not one request
        # after it may be the one that finds out.
        postgres.stop()
        postgres.start()
        assert [server.api.wallet(access_tokens[0]).status for _ in range(12)] == [200] * 12
        with database.connect() as db:
            assert {coupon for _, coupon in won} <= redeemed_tokens(db)
            assert_invariants(db)
        log = server.log()
        assert "Traceback" not in log and '" 500 ' not in log  # the access log: no request answered 500
        assert PASSWORD not in log
        said = run_in_repo([*FLASK, "init-db"], server.env)  # where the database is, never the password
        assert said.returncode == 0 and "nothing changed" in said.stdout and PASSWORD not in said.stdout + said.stderr
    finally:
        server.stop()
        postgres.stop()


@pytest.mark.engines("sqlite")
def test_full_disk_writes_503_reads_work_nothing_half_written(engine, tmp_path):
    with tmpfs(tmp_path / "disk", "3m") as disk:
        database = new_sqlite_database(disk / "live")
        server = start_gunicorn(database, tmp_path / "live", workers=2)
        api = server.api
        try:
            access_token = api.login().access_token
            (coupon,) = api.generate(1)
            assert api.scan(access_token, coupon).status == 200
            with (disk / "filler").open("wb") as filler:
                with contextlib.suppress(OSError):
                    while True:
                        filler.write(b"\0" * 65536)
                        filler.flush()
            before = api.wallet(access_token)
            assert before.status == 200 and before.body["points"] == 10  # reads keep working

            assert api.call("GET", "/health").status == 503
            reply = api.call("POST", "/coupons/generate", {"count": 10_000}, {"X-API-Key": server.env["ADMIN_API_KEY"]})
            assert reply.status == 503 and reply.body["code"] == "service_unavailable"

            (disk / "filler").unlink()
            with database.connect() as db:
                assert db.scalar("SELECT count(*) FROM batches") == 1  # no half batch
                assert db.scalar("SELECT count(*) FROM coupons") == 1
                assert_invariants(db)
            assert api.call("GET", "/health").status == 200
            assert len(api.generate(100)) == 100
            assert "Traceback" not in server.log()
        finally:
            server.stop()


@pytest.mark.engines("sqlite")
def test_read_only_database_is_503_not_500(engine, tmp_path):
    with tmpfs(tmp_path / "disk", "8m") as disk:
        database = new_sqlite_database(disk / "db")
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        server = start_gunicorn(database, tmp_path / "live", workers=2)
        try:
            assert server.api.call("GET", "/health").status == 503
            admin = {"X-API-Key": server.env["ADMIN_API_KEY"]}
            for method, path, body, headers in [
                ("POST", "/auth/otp", {"phone": fresh_phone()}, {}),
                ("POST", "/coupons/generate", {"count": 1}, admin),
                ("GET", "/users/1/wallet", None, admin),
            ]:
                reply = server.api.call(method, path, body, headers)
                assert reply.status == 503 and reply.body["code"] == "service_unavailable", (path, reply)
            assert "Traceback" not in server.log()
        finally:
            server.stop()


@pytest.mark.engines("sqlite")
def test_online_backup_while_writing_keeps_everything_committed_before_it(gunicorn, db, tmp_path):
    server = gunicorn(workers=4)
    access_tokens = login_many(server.api, 16)
    coupons = server.api.generate(10_000)
    backup = tmp_path / "backup.db"
    began: list[float] = []

    def take_backup() -> None:
        time.sleep(1.5)
        began.append(time.monotonic())
        result = run_in_repo([*FLASK, "backup", str(backup)], server.env)
        assert result.returncode == 0, result.stderr

    won, failures = answered_under_fire(lambda: server.api, access_tokens, coupons, take_backup, seconds=3.0)
    assert not failures, failures
    before_backup = {coupon for at, coupon in won if at < began[0]}
    assert before_backup and len(won) > len(before_backup)  # writes went on during and after it

    # Restore as the README says: the backup becomes the database file of a fresh service.
    server.stop()
    folder = tmp_path / "restored"
    folder.mkdir()
    backup.rename(folder / "rewards.db")
    restored_db = TestDatabase("sqlite", f"sqlite:///{folder / 'rewards.db'}", folder / "rewards.db")
    restored = start_gunicorn(restored_db, tmp_path / "live-restored", workers=2)
    try:
        assert restored.api.call("GET", "/health").status == 200
        with restored_db.connect() as restored_probe:
            assert before_backup <= redeemed_tokens(restored_probe)
            assert_invariants(restored_probe)
    finally:
        restored.stop()


def test_an_idempotent_scan_that_failed_is_not_kept_and_its_retry_is_carried_out(make_app, db):
    """The kept answer commits with its action or not at all: a scan that cannot get its lock
    (503) leaves no key behind, and the retry with the same key redeems the coupon afresh."""
    api = Api(TestClientTransport(make_app(DATABASE_BUSY_TIMEOUT_MS="200").test_client()))
    access_token, _ = api.login()
    (coupon,) = api.generate(1)
    headers = {**bearer(access_token), "Idempotency-Key": "flaky-network-1"}
    with lock_held(db, coupon):
        failed = api.call("POST", "/scan", {"token": coupon}, headers)
    assert failed.status == 503 and failed.body["code"] == "service_unavailable"
    assert db.scalar("SELECT count(*) FROM idempotency_keys") == 0
    retried = api.call("POST", "/scan", {"token": coupon}, headers)
    assert retried.status == 200 and "Idempotent-Replayed" not in retried.headers
    assert db.scalar("SELECT count(*) FROM scans") == 1
    assert_invariants(db)
