"""A PostgreSQL server for the bench: BENCH_DATABASE_URL (a role that may CREATE DATABASE) when
set, otherwise a throwaway one started with pgserver (installed with the dev requirements)."""

from __future__ import annotations

import os
import tempfile
import warnings
from urllib.parse import urlsplit, urlunsplit

import psycopg

from rewards.db import Database
from rewards.db.migrate import init_db
from rewards.db.postgresql import PostgresBackend, describe_url


class BenchPostgres:
    def __init__(self) -> None:
        self._server = None
        self.admin_url = os.environ.get("BENCH_DATABASE_URL") or self._start()

    def _start(self) -> str:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver

            self._server = pgserver.get_server(tempfile.mkdtemp(prefix="rewards-bench-pg-"), cleanup_mode="delete")
        return self._server.get_uri()

    def fresh(self, name: str) -> str:
        """A new, migrated database called `name` (dropped first if it exists): its URL."""
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
        url = urlunsplit(urlsplit(self.admin_url)._replace(path=f"/{name}"))
        init_db(PostgresBackend(url, 5000))
        return url

    def analyze(self, url: str) -> None:
        """Fresh planner statistics after a bulk seed, as autovacuum would gather them a little
        later: without them PostgreSQL plans a 100,000-row wallet as if the table were empty
        (a bitmap scan and a sort of every row, 70 ms instead of 0.2 ms)."""
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ANALYZE")

    def database(self, url: str) -> Database:
        return Database(PostgresBackend(url, 5000))

    def version(self) -> str:
        with psycopg.connect(self.admin_url) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]

    def shown(self, url: str) -> str:
        return describe_url(url)

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
