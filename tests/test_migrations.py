"""Schema versions on both engines: migrating up from version 1 gives what a fresh install
gives; a release 1.0.0 database keeps every row and every invariant when init-db upgrades it;
a service on an older schema refuses to start, naming init-db."""

from __future__ import annotations

import re

import pytest

from rewards.db.migrate import init_db, latest_version, migrations
from rewards.db.postgresql import PostgresBackend
from rewards.db.sqlite import SqliteBackend

from .support.apps import build_app
from .support.engines import TestDatabase
from .support.invariants import assert_invariants
from .support.servers import GUNICORN, run_in_repo, service_env


@pytest.fixture
def empty(engine, request, tmp_path):
    """Make empty databases of the test's engine: (TestDatabase, backend)."""
    made = []
    postgres = request.getfixturevalue("postgres") if engine == "postgresql" else None

    def make():
        if postgres is None:
            path = tmp_path / f"empty{len(made)}.db"
            database = TestDatabase("sqlite", f"sqlite:///{path}", path)
            backend = SqliteBackend(str(path), 5000)
        else:
            database = TestDatabase("postgresql", postgres.empty_database())
            backend = PostgresBackend(database.url, 5000)
        made.append(database)
        return database, backend

    yield make
    for database in made if postgres else ():
        postgres.drop(database.url)


def normalise_sql(sql: str | None) -> str:
    """Comments, IF NOT EXISTS and the white space around punctuation are not the schema (an
    ALTER TABLE ADD COLUMN stores its column with spacing of its own)."""
    # A table rebuilt under a new name and renamed back is stored with its name quoted.
    sql = re.sub(r"--[^\n]*", "", sql or "").replace("IF NOT EXISTS ", "").replace('"', "")
    sql = re.sub(r"\s*([(),])\s*", r"\1", sql)
    return re.sub(r"\s+", " ", sql).strip().lower()


def shape(db) -> dict:
    """Tables, columns, constraints and indexes, as the engine reports them."""
    if db.engine == "sqlite":
        objects = db.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
        ).fetchall()
        result = {}
        for kind, name, table, sql in objects:
            entry = {"sql": normalise_sql(sql)}
            if kind == "table":
                entry["columns"] = [tuple(r) for r in db.execute(f"PRAGMA table_xinfo('{name}')")]
                entry["foreign_keys"] = [tuple(r) for r in db.execute(f"PRAGMA foreign_key_list('{name}')")]
            result[(kind, name, table)] = entry
        return result
    columns = db.execute(
        """
        SELECT table_name, column_name, ordinal_position, data_type, is_nullable, column_default, is_identity
        FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY 1, 3
        """
    ).fetchall()
    constraints = db.execute(
        """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE connamespace = current_schema()::regnamespace ORDER BY 1, 2
        """
    ).fetchall()
    indexes = db.execute(
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1, 2"
    ).fetchall()
    # Functions (the scan's redeem_coupon, the audit log's trigger) and triggers, as the server
    # prints them back: a migration and schema.postgresql.sql must define the same ones.
    functions = db.execute(
        """
        SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p
        WHERE p.pronamespace = current_schema()::regnamespace ORDER BY 1
        """
    ).fetchall()
    triggers = db.execute(
        "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2"
    ).fetchall()
    return {
        "columns": [tuple(r) for r in columns],
        "constraints": [tuple(r) for r in constraints],
        "indexes": [tuple(r) for r in indexes],
        "functions": [tuple(r) for r in functions],
        "triggers": [tuple(r) for r in triggers],
    }


def test_every_engine_has_the_same_numbered_migrations():
    assert [m.version for m in migrations("sqlite")] == [m.version for m in migrations("postgresql")]
    assert [m.version for m in migrations("sqlite")] == list(range(1, latest_version() + 1))


def test_migrating_up_from_version_1_gives_what_a_fresh_install_gives(empty):
    fresh, fresh_backend = empty()
    upgraded, upgraded_backend = empty()
    init_db(fresh_backend)
    init_db(upgraded_backend, upto=1)
    assert "Upgraded" in init_db(upgraded_backend)
    with fresh.connect() as a, upgraded.connect() as b:
        assert shape(a) == shape(b)


def fill_release_1_0_0(db) -> None:
    """Users, a batch, coupons, scans and ledger rows, written as release 1.0.0 wrote them."""
    db.execute("INSERT INTO users (id, phone, balance, scans, created_at) VALUES (1, '+15551112222', 15, 2, 100)")
    db.execute("INSERT INTO users (id, phone, balance, scans, created_at) VALUES (2, '+15553334444', 0, 0, 100)")
    db.execute("INSERT INTO batches (id, label, count, points, created_at) VALUES (1, 'old', 3, 5, 100)")
    db.execute("INSERT INTO batches (id, label, count, points, created_at) VALUES (2, NULL, 1, 5, 100)")
    for i, status in enumerate(("redeemed", "redeemed", "active", "redeemed"), start=1):
        token = f"{i:08d}-0000-4000-8000-000000000000"
        db.execute(
            "INSERT INTO coupons (id, token, batch_id, status) VALUES (?, ?, ?, ?)",
            (i, token, 1 if i < 4 else 2, status),
        )
    db.execute("UPDATE batches SET points = 10 WHERE id = 2")
    db.execute("INSERT INTO scans (id, coupon_id, user_id, created_at) VALUES (1, 1, 1, 200), (2, 2, 1, 201)")
    db.execute("INSERT INTO scans (id, coupon_id, user_id, created_at) VALUES (3, 4, 1, 202)")
    db.execute(
        "INSERT INTO ledger_entries (user_id, kind, points, scan_id, created_at) VALUES "
        "(1, 'scan', 5, 1, 200), (1, 'scan', 5, 2, 201), (1, 'scan', 5, 3, 202)"
    )
    db.execute("UPDATE users SET balance = 15, scans = 3 WHERE id = 1")
    db.execute(
        "INSERT INTO otp_codes (phone, code_hash, expires_at, attempts, delivered) VALUES ('+15553334444', 'x', 999, 0, 1)"
    )
    db.execute("INSERT INTO rate_limits (key, window_start, hits) VALUES ('scan:1', 200, 3)")


RELEASE_1_0_0_TABLES = {
    "users": "id, phone, balance, scans, created_at",
    "batches": "id, label, count, points, expires_at, created_at, voided_at",
    "coupons": "id, token, batch_id, status",
    "scans": "id, coupon_id, user_id, created_at",
    "ledger_entries": "id, user_id, kind, points, scan_id, created_at",
    "otp_codes": "phone, code_hash, expires_at, attempts, delivered",
    "rate_limits": "key, window_start, hits",
}


def every_row(db) -> dict:
    """Every row of release 1.0.0's tables, in its columns."""
    return {t: sorted(tuple(r) for r in db.execute(f"SELECT {c} FROM {t}")) for t, c in RELEASE_1_0_0_TABLES.items()}


def test_a_release_1_0_0_database_is_upgraded_with_every_row(empty):
    database, backend = empty()
    init_db(backend, upto=1)
    with database.connect() as db:
        fill_release_1_0_0(db)
        before = every_row(db)
    said = init_db(backend)
    assert said.startswith("Upgraded") and "from schema version 1 to" in said
    with database.connect() as db:
        assert every_row(db) == before
        assert_invariants(db)
        assert db.scalar("SELECT count(*) FROM database_instance") == 1
        # The tallies of the batches' coupons were counted from the rows.
        tallies = db.execute(
            "SELECT batch_id, sum(redeemed), sum(voided) FROM batch_tallies GROUP BY batch_id ORDER BY 1"
        )
        assert [tuple(r) for r in tallies] == [(1, 2, 0), (2, 1, 0)]
        # And the totals behind GET /stats: both users, and the three scans on their day.
        assert db.scalar("SELECT sum(value) FROM stat_tallies WHERE name = 'users'") == 2
        assert [tuple(r) for r in db.execute("SELECT day, sum(scans) FROM scan_days GROUP BY day")] == [(0, 3)]


def test_a_service_on_an_older_schema_refuses_to_start_naming_init_db(empty):
    database, backend = empty()
    init_db(backend, upto=1)
    result = run_in_repo([*GUNICORN, "app:app", "-w", "2", "-b", "127.0.0.1:0"], service_env(database))
    assert result.returncode != 0
    refusal = [line for line in result.stderr.splitlines() if "refusing to start" in line]
    assert len(refusal) == 1 and "init-db" in refusal[0] and "schema version 1" in refusal[0]
    assert "Traceback" not in result.stderr


def test_init_db_refuses_a_schema_newer_than_the_release(empty):
    database, backend = empty()
    init_db(backend)
    with database.connect() as db:
        if db.engine == "sqlite":
            db.execute(f"PRAGMA user_version = {latest_version() + 1}")
        else:
            db.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)", (latest_version() + 1,))

    app = build_app(database.url)
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 1 and "newer than this release" in result.output
    app.extensions["rewards.db"].close()
