"""Deployment as the README and contract describe it: gunicorn.conf.py, PORT, .env."""

from __future__ import annotations

import subprocess
import time

import pytest

from rewards.db import init_schema

from .live import GUNICORN, ROOT, LiveServer, free_port, gunicorn_env, wait_until_serving

pytestmark = pytest.mark.live


def test_gunicorn_reads_port_and_dotenv_from_the_working_directory(tmp_path):
    db = tmp_path / "from-dotenv.db"
    init_schema(str(db))
    (tmp_path / ".env").write_text(f"DATABASE_URL=sqlite:///{db}\nOTP_DELIVERY=response\n")
    port = free_port()
    env = gunicorn_env(tmp_path, {"PORT": str(port)})
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
    server = LiveServer(f"http://127.0.0.1:{port}", db, process, log)
    try:
        wait_until_serving(server)
        reply = server.call("POST", "/auth/otp", {"phone": "+15551234567"})
        assert reply.status == 200 and len(reply.body["otp"]) == 6  # OTP_DELIVERY came from .env
        with server.database() as conn:  # and so did DATABASE_URL
            assert conn.execute("SELECT count(*) FROM otp_codes").fetchone()[0] == 1
        time.sleep(0.2)
        assert '"POST /auth/otp HTTP/1.1" 200' in server.log()  # the access log is on
    finally:
        server.stop()


def test_health_on_gunicorn_says_503_when_the_database_is_gone(gunicorn):
    server = gunicorn(workers=2)
    assert server.call("GET", "/health").body == {"status": "ok"}
    for suffix in ("", "-wal", "-shm"):
        server.db_path.with_name(server.db_path.name + suffix).unlink(missing_ok=True)
    reply = server.call("GET", "/health")
    assert reply.status == 503 and reply.body == {"status": "unavailable"}
