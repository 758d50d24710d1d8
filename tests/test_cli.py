"""Operator commands: init-db, gen-coupons, backup."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import tracemalloc

import pytest

from rewards.cli import gen_coupons_command

from .support.apps import build_app
from .support.engines import with_database

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def count(db, table):
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_init_db_is_safe_to_run_again(app, runner, api, db):
    api.login()
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0 and app.extensions["rewards.db"].describe() in result.output
    assert "nothing changed" in result.output
    assert count(db, "users") == 1


@pytest.mark.engines("sqlite")
def test_init_db_creates_a_missing_database_and_its_folder(engine, tmp_path):
    path = tmp_path / "deep" / "er" / "rewards.db"
    app = build_app(f"sqlite:///{path}")
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0 and path.exists()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    app.extensions["rewards.db"].close()


def test_reset_asks_first_and_keeps_data_when_declined(runner, api, db):
    api.login()
    result = runner.invoke(args=["init-db", "--reset"], input="n\n")
    assert result.exit_code != 0
    assert count(db, "users") == 1


def test_reset_with_yes_drops_everything(runner, api, db):
    api.login()
    api.generate(2)
    result = runner.invoke(args=["init-db", "--reset", "--yes"])
    assert result.exit_code == 0
    assert count(db, "users") == 0 and count(db, "coupons") == 0
    api.login()  # and the schema is back


def test_gen_coupons_to_a_file(runner, db, tmp_path):
    out = tmp_path / "coupons.csv"
    result = runner.invoke(
        args=[
            "gen-coupons",
            "--count",
            "25",
            "--points",
            "3",
            "--expires-at",
            "2099-01-01T00:00:00Z",
            "--label",
            "x",
            "--output",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert list(rows[0]) == ["token", "points", "expires_at", "batch_id"]
    assert len(rows) == 25 and len({r["token"] for r in rows}) == 25
    assert all(
        UUID4.match(r["token"]) and r["points"] == "3" and r["expires_at"] == "2099-01-01T00:00:00Z" for r in rows
    )
    batch_id = int(rows[0]["batch_id"])
    stored = {r[0] for r in db.execute("SELECT token FROM coupons WHERE batch_id = ?", (batch_id,))}
    assert stored == {r["token"] for r in rows}
    assert "25 coupons" in result.stderr


def test_gen_coupons_to_stdout_keeps_the_summary_on_stderr(runner, db):
    result = runner.invoke(args=["gen-coupons", "--count", "3"])
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 3 and rows[0]["points"] == "10" and rows[0]["expires_at"] == ""
    assert "3 coupons" in result.stderr and "coupons" not in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--count", "0"],
        ["--count", "1000001"],
        ["--count", "ten"],
        ["--count", "1", "--points", "0"],
        ["--count", "1", "--expires-at", "2001-01-01T00:00:00Z"],
        ["--count", "1", "--expires-at", "someday"],
        ["--count", "1", "--label", "x" * 101],
    ],
)
def test_bad_arguments_exit_2_and_write_nothing(runner, db, tmp_path, args):
    out = tmp_path / "c.csv"
    result = runner.invoke(args=["gen-coupons", *args, "--output", str(out)])
    assert result.exit_code == 2
    assert count(db, "coupons") == 0 and count(db, "batches") == 0
    assert not out.exists()


def test_an_unwritable_output_exits_2_and_writes_nothing(runner, db, tmp_path):
    result = runner.invoke(args=["gen-coupons", "--count", "5", "--output", str(tmp_path / "no" / "such" / "dir.csv")])
    assert result.exit_code == 2 and "--output" in result.output
    assert count(db, "coupons") == 0 and count(db, "batches") == 0


def test_gen_coupons_streams_instead_of_holding_the_batch(app, tmp_path):
    """100,000 coupons must not cost memory in proportion: a list of them alone is ~10 MB."""
    out = tmp_path / "big.csv"
    tracemalloc.start()
    try:
        with app.app_context():
            gen_coupons_command.main(["--count", "100000", "--output", str(out)], standalone_mode=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.read_text().count("\n") == 100_001
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def missing_database_url(engine: str, tmp_path, database) -> str:
    if engine == "sqlite":
        return f"sqlite:///{tmp_path / 'none.db'}"
    return with_database(database.url, "no_such_database")


def test_gen_coupons_without_a_database_says_so(engine, database, tmp_path):
    app = build_app(missing_database_url(engine, tmp_path, database))
    result = app.test_cli_runner().invoke(args=["gen-coupons", "--count", "1"])
    assert result.exit_code == 1 and "init-db" in result.output
    assert "Traceback" not in result.output
    app.extensions["rewards.db"].close()


@pytest.fixture
def empty_database_url(engine, request, tmp_path) -> str:
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path / 'said.db'}"
        return
    postgres = request.getfixturevalue("postgres")
    url = postgres.empty_database()
    yield url
    postgres.drop(url)


def test_init_db_says_what_it_did(empty_database_url):
    app = build_app(empty_database_url)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["init-db"])
    assert first.exit_code == 0 and first.output.startswith("Created the schema")
    again = runner.invoke(args=["init-db"])
    assert again.exit_code == 0 and "nothing changed" in again.output and "Created" not in again.output
    reset = runner.invoke(args=["init-db", "--reset", "--yes"])
    assert reset.exit_code == 0 and reset.output.startswith("Reset")
    app.extensions["rewards.db"].close()


def test_gen_coupons_refuses_an_existing_output_unless_forced(runner, db, tmp_path):
    out = tmp_path / "earlier.csv"
    out.write_text("tokens of an earlier batch\n")
    refused = runner.invoke(args=["gen-coupons", "--count", "3", "--output", str(out)])
    assert refused.exit_code == 2 and "exists" in refused.output and "--force" in refused.output
    assert out.read_text() == "tokens of an earlier batch\n"
    assert count(db, "coupons") == 0 and count(db, "batches") == 0
    forced = runner.invoke(args=["gen-coupons", "--count", "3", "--output", str(out), "--force"])
    assert forced.exit_code == 0
    assert len(out.read_text().splitlines()) == 4 and count(db, "coupons") == 3


@pytest.mark.engines("sqlite")
def test_backup_into_a_missing_folder_or_an_existing_file_exits_2(runner, tmp_path):
    missing = runner.invoke(args=["backup", str(tmp_path / "no" / "such" / "folder" / "copy.db")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    assert "Traceback" not in missing.output and missing.exception is None or isinstance(missing.exception, SystemExit)
    existing = tmp_path / "taken.db"
    existing.write_bytes(b"keep me")
    refused = runner.invoke(args=["backup", str(existing)])
    assert refused.exit_code == 2 and "exists" in refused.output
    assert existing.read_bytes() == b"keep me"
    made = runner.invoke(args=["backup", str(tmp_path / "copy.db")])
    assert made.exit_code == 0
    assert sqlite3.connect(tmp_path / "copy.db").execute("SELECT count(*) FROM users").fetchone()[0] == 0


@pytest.mark.engines("postgresql")
def test_backup_on_postgresql_points_to_pg_dump(runner, tmp_path):
    result = runner.invoke(args=["backup", str(tmp_path / "copy.db")])
    assert result.exit_code == 2 and "pg_dump" in result.output
    assert not (tmp_path / "copy.db").exists()
