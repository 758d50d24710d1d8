"""Faults: killed processes, a hot lock, a read-only or full disk, backups under load.
Whatever happens, an answered 200 is never lost and nothing is half-written."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rewards.db import init_schema

from .conftest import ADMIN_KEY, fresh_phone
from .live import FLASK, ROOT, LiveServer, free_port, gunicorn_env, run_in_repo, start_gunicorn, wait_until_serving
from .test_concurrency import answered_under_fire, assert_ledger_consistent, scan

pytestmark = pytest.mark.live


def test_sigkilled_master_loses_nothing_and_make_run_brings_it_back(gunicorn, tmp_path):
    server = gunicorn(workers=4)

    def kill_master(server: LiveServer) -> None:
        time.sleep(1.5)
        os.kill(server.process.pid, signal.SIGKILL)

    won = answered_under_fire(server, kill_master, seconds=3.0)
    assert len(won) > 20
    server.stop()  # the orphaned workers too

    port = free_port()
    env = gunicorn_env(server.db_path.parent, {"PORT": str(port)})
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["make", "run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    revived = LiveServer(f"http://127.0.0.1:{port}", server.db_path, process, log)
    try:
        wait_until_serving(revived, timeout=120)
        assert revived.call("GET", "/health").status == 200
        with revived.database() as db:
            redeemed = {r[0] for r in db.execute("SELECT c.token FROM scans s JOIN coupons c ON c.id = s.coupon_id")}
        assert {coupon for _, coupon in won} <= redeemed
        assert_ledger_consistent(revived)
        access_token = revived.login(fresh_phone())
        (coupon,) = revived.generate(1, ADMIN_KEY)
        assert scan(revived, access_token, coupon).status == 200
    finally:
        revived.stop()


def hold_write_lock(path: Path, seconds: float) -> subprocess.Popen:
    """Another process takes the write lock and sits on it: a long-running writer."""
    code = (
        "import sqlite3, sys, time\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('BEGIN IMMEDIATE'); print('held', flush=True); time.sleep(float(sys.argv[2])); c.execute('ROLLBACK')\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_lock_held_past_the_lock_timeout_is_a_bounded_503(gunicorn):
    """Many workers, one hot coupon, and a long-running writer sitting on the lock."""
    server = gunicorn(workers=4, DATABASE_BUSY_TIMEOUT_MS="300")
    tokens = [server.login(fresh_phone()) for _ in range(8)]
    (hot,) = server.generate(1, ADMIN_KEY)
    holder = hold_write_lock(server.db_path, 4)
    try:
        results = []

        def attempt(access_token: str) -> None:
            started = time.monotonic()
            reply = scan(server, access_token, hot)
            results.append((reply, time.monotonic() - started))

        threads = [threading.Thread(target=attempt, args=(t,)) for t in tokens]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        holder.communicate()
    for reply, elapsed in results:
        assert reply.status == 503 and reply.body["code"] == "service_unavailable"
        assert reply.headers["retry-after"] == "1"
        assert elapsed < 3  # the lock timeout plus a little queueing, not a hang
    # The writer is gone: the hot coupon now goes to exactly one of them.
    assert sorted(scan(server, t, hot).status for t in tokens) == [200] + [409] * 7
    assert "Traceback" not in server.log()
    assert_ledger_consistent(server)


@contextlib.contextmanager
def tmpfs(path: Path, size: str):
    path.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here to simulate the disk: {result.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_full_disk_writes_503_reads_work_nothing_half_written(tmp_path):
    with tmpfs(tmp_path / "disk", "3m") as disk:
        server = start_gunicorn(disk / "live", workers=2)
        try:
            access_token = server.login(fresh_phone())
            (coupon,) = server.generate(1, ADMIN_KEY)
            assert scan(server, access_token, coupon).status == 200
            with (disk / "filler").open("wb") as filler:
                with contextlib.suppress(OSError):
                    while True:
                        filler.write(b"\0" * 65536)
                        filler.flush()
            before = server.call("GET", "/users/me/wallet", headers={"Authorization": f"Bearer {access_token}"})
            assert before.status == 200 and before.body["points"] == 10  # reads keep working

            assert server.call("GET", "/health").status == 503
            reply = server.call("POST", "/coupons/generate", {"count": 10_000}, {"X-API-Key": ADMIN_KEY})
            assert reply.status == 503 and reply.body["code"] == "service_unavailable"

            (disk / "filler").unlink()
            with server.database() as db:
                assert db.execute("SELECT count(*) FROM batches").fetchone()[0] == 1  # no half batch
                assert db.execute("SELECT count(*) FROM coupons").fetchone()[0] == 1
            assert server.call("GET", "/health").status == 200
            assert server.call("POST", "/coupons/generate", {"count": 100}, {"X-API-Key": ADMIN_KEY}).status == 201
            assert "Traceback" not in server.log()
            assert_ledger_consistent(server)
        finally:
            server.stop()


def test_read_only_database_is_503_not_500(tmp_path):
    with tmpfs(tmp_path / "disk", "8m") as disk:
        database = disk / "rewards.db"
        init_schema(str(database))
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        server = start_gunicorn(tmp_path / "live", workers=2, init=False, env={"DATABASE_URL": f"sqlite:///{database}"})
        try:
            assert server.call("GET", "/health").status == 503
            for method, path, body, headers in [
                ("POST", "/auth/otp", {"phone": fresh_phone()}, {}),
                ("POST", "/coupons/generate", {"count": 1}, {"X-API-Key": ADMIN_KEY}),
                ("GET", "/users/1/wallet", None, {"X-API-Key": ADMIN_KEY}),
            ]:
                reply = server.call(method, path, body, headers)
                assert reply.status == 503 and reply.body["code"] == "service_unavailable", (path, reply)
            assert "Traceback" not in server.log()
        finally:
            server.stop()


def test_online_backup_while_writing_keeps_everything_committed_before_it(gunicorn, tmp_path):
    server = gunicorn(workers=4)
    backup = tmp_path / "backup.db"
    began: list[float] = []

    def take_backup(server: LiveServer) -> None:
        time.sleep(1.5)
        began.append(time.monotonic())
        result = run_in_repo([*FLASK, "backup", str(backup)], server.env)
        assert result.returncode == 0, result.stderr

    won = answered_under_fire(server, take_backup, seconds=3.0)
    before_backup = {coupon for at, coupon in won if at < began[0]}
    assert before_backup and len(won) > len(before_backup)  # writes went on during and after it

    # Restore as the README says: the backup becomes the database file of a fresh service.
    server.stop()
    folder = tmp_path / "restored"
    folder.mkdir()
    backup.rename(folder / "rewards.db")
    restored = start_gunicorn(folder, workers=2, init=False)
    try:
        assert restored.call("GET", "/health").status == 200
        with restored.database() as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            in_backup = {r[0] for r in db.execute("SELECT c.token FROM scans s JOIN coupons c ON c.id = s.coupon_id")}
        assert before_backup <= in_backup
        assert_ledger_consistent(restored)
    finally:
        restored.stop()
