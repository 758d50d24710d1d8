"""Settings that cannot be read, and database servers that turn the service away, stop the real
commands (`flask init-db`, `gunicorn`) with one line naming what is wrong and a non-zero exit,
and never print any part of a password. A server that is merely down is no reason: the service
starts and answers 503 until it is back."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from rewards.config import build_config

from .support.engines import PASSWORD, RestartablePostgres, TestDatabase, with_database
from .support.servers import FLASK, GUNICORN, free_port, run_in_repo, service_env, start_gunicorn

pytestmark = pytest.mark.live

# Long enough that gunicorn, had it started, would be killed here rather than hang the suite.
TIMEOUT = 30


def env_for(url: str, **settings: str) -> dict[str, str]:
    env = service_env(TestDatabase("postgresql" if url.startswith("postgres") else "sqlite", url))
    env["DATABASE_URL"] = url
    env.update(settings)
    return env


def refusal(command: list[str], env: dict[str, str]) -> str:
    """Run a command that must refuse to start; its one line of output."""
    try:
        result = run_in_repo(command, env, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{command[-4:]} started instead of refusing")
    output = (result.stdout + result.stderr).strip()
    assert result.returncode != 0, output
    assert "Traceback" not in output
    lines = output.splitlines()
    assert len(lines) == 1, output
    return lines[0]


def both_refuse(env: dict[str, str]) -> list[str]:
    """`flask init-db` (what `make run` runs first) and gunicorn, each with its one line."""
    return [refusal([*FLASK, "init-db"], env), refusal([*GUNICORN, "app:app", "-w", "1", "-b", "127.0.0.1:0"], env)]


@pytest.mark.parametrize("shape", ["sqlite:///{} ", " sqlite:///{}", "sqlite:///{}\n", "file:{}\t"])
def test_a_database_url_with_white_space_around_it_refuses_to_start(tmp_path, shape):
    folder = tmp_path / "data"
    folder.mkdir()
    for line in both_refuse(env_for(shape.format(folder / "rewards.db"))):
        assert "refusing to start: DATABASE_URL has white space before or after it" in line
    assert list(folder.iterdir()) == []  # no `rewards.db ` made beside the real one


UNREADABLE = [
    ("postgresql://app:Sup3rS3cr3t/xyz@db.example/rewards", ["Sup3rS3cr3t", "xyz@"]),
    ("postgresql://app:Sup3r@S3cr3t@db.example/rewards", ["Sup3r", "S3cr3t"]),
    ("postgresql://app:12345?S3cr3t@db.example/rewards", ["12345", "S3cr3t"]),
    ("postgresql://app:Sup3r#S3cr3t@db.example/rewards", ["Sup3r", "S3cr3t"]),
    ("postgresql://app:777/S3cr3t@db.example/rewards", ["777", "S3cr3t"]),
    ("postgres://app:S3cr3tS3cr3t@db.example:99999/rewards", ["S3cr3tS3cr3t", "99999"]),
]


@pytest.mark.parametrize(("url", "pieces"), UNREADABLE)
def test_a_postgresql_url_that_cannot_be_read_refuses_without_any_of_its_password(url, pieces):
    for line in both_refuse(env_for(url)):
        assert "refusing to start: DATABASE_URL cannot be read as a PostgreSQL URL" in line
        assert "percent-encoded" in line
        for piece in pieces:
            assert piece not in line


def test_a_password_with_a_slash_percent_encoded_is_read_as_one():
    config = build_config({"DATABASE_URL": "postgresql://app:Sup3rS3cr3t%2Fxyz@db.example:5432/rewards"})
    assert config["DATABASE_ENGINE"] == "postgresql"


def refused_url(url: str, *, user: str | None = None, dbname: str | None = None) -> tuple[str, str]:
    """The test server's URL with another user or database, and a password in it (the tests'
    server trusts local connections and ignores it): (url, password)."""
    if dbname:
        url = with_database(url, dbname)
    parts = urlsplit(url)
    password = parts.password or PASSWORD
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user or parts.username or 'postgres'}:{password}@{host}")), password


@pytest.mark.engines("postgresql")
def test_an_unknown_database_or_user_stops_init_db_and_gunicorn_with_the_servers_reason(engine, postgres):
    unknown_database = refused_url(postgres.admin_url, dbname="rewards_no_such_database")
    unknown_user = refused_url(postgres.admin_url, user="rewards_no_such_user")
    for (url, password), named in (
        (unknown_database, "rewards_no_such_database"),
        (unknown_user, "rewards_no_such_user"),
    ):
        for line in both_refuse(env_for(url)):
            assert "refus" in line and "refused the connection" in line and named in line, line
            assert password not in line


@pytest.mark.engines("postgresql")
def test_a_wrong_password_stops_init_db_and_gunicorn_with_the_servers_reason(engine, tmp_path):
    """A server of the test's own that asks this role for its password (scram-sha-256)."""
    server = RestartablePostgres(tmp_path / "pg")
    try:
        with psycopg.connect(server.url, autocommit=True) as admin:
            admin.execute("CREATE ROLE rewards_app LOGIN PASSWORD 'the-right-one-42'")
            hba = Path(admin.execute("SHOW hba_file").fetchone()[0])
            # The first matching line wins: this role must give its password, every other stays trusted.
            hba.write_text(
                "local all rewards_app scram-sha-256\nhost all rewards_app all scram-sha-256\n" + hba.read_text()
            )
            admin.execute("SELECT pg_reload_conf()")
        wrong = "Wr0ngPassw0rd-7"
        parts = urlsplit(with_database(server.url, "rewards"))
        url = urlunsplit(parts._replace(netloc=f"rewards_app:{wrong}@"))
        for line in both_refuse(env_for(url)):
            assert 'refused the connection: password authentication failed for user "rewards_app"' in line, line
            assert wrong not in line and "Wr0ng" not in line
    finally:
        server.stop()


@pytest.mark.engines("postgresql")
def test_a_server_that_is_down_is_no_reason_to_refuse_to_start(engine, tmp_path):
    url = f"postgresql://app:{PASSWORD}@127.0.0.1:{free_port()}/rewards"
    server = start_gunicorn(TestDatabase("postgresql", url), tmp_path / "live", workers=1)
    try:
        reply = server.api.call("GET", "/health")
        assert reply.status == 503 and reply.body == {"status": "unavailable"}
        assert PASSWORD not in server.log()
    finally:
        server.stop()


@pytest.mark.parametrize("port", ["99999", "0", "65536", "abc", "80 80", "-1", ""])
def test_a_port_outside_1_to_65535_refuses_to_start_in_one_line(tmp_path, port):
    env = env_for(f"sqlite:///{tmp_path / 'never.db'}", PORT=port)
    gunicorn = refusal([*GUNICORN, "app:app", "-w", "1"], env)  # no -b: gunicorn binds PORT
    init_db = refusal([*FLASK, "init-db"], env)
    for line in (gunicorn, init_db):
        assert f"refusing to start: PORT must be a number from 1 to 65535, not {port.strip()!r}" in line
    assert not (tmp_path / "never.db").exists()


def test_port_defaults_to_8000_and_takes_1_to_65535():
    assert build_config({})["PORT"] == 8000
    assert build_config({"PORT": "1"})["PORT"] == 1 and build_config({"PORT": "65535"})["PORT"] == 65535
