"""Throwaway databases on both engines.

SQLite: a fresh file per test. PostgreSQL: a fresh database per test, cloned from a migrated
template on one server for the whole session: TEST_DATABASE_URL when set (a role that may
CREATE DATABASE), otherwise a server this session starts itself with PyPI's pgserver (which
bundles PostgreSQL). Where neither can be had the PostgreSQL tests fail, saying how to provide
one; they never skip.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from rewards.db.migrate import init_db
from rewards.db.postgresql import PostgresBackend
from rewards.db.postgresql import connect as pg_connect
from rewards.db.sqlite import SqliteBackend

ENGINES = ("sqlite", "postgresql")
# In URLs of servers that trust local connections: it must never reach a log or an answer.
PASSWORD = "never-log-this-pw"
TEMPLATE = "rewards_template"
_names = itertools.count(1)

HOW_TO_PROVIDE = (
    "No PostgreSQL server for the tests. Either set TEST_DATABASE_URL to a database whose role may "
    "CREATE DATABASE (e.g. postgresql://postgres:secret@127.0.0.1:5432/postgres), or let the tests "
    "start one: `pip install -r requirements-dev.txt` installs pgserver, which bundles PostgreSQL."
)


def with_database(url: str, name: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


class PostgresServer:
    """One server for the session, and the template every test database is cloned from."""

    def __init__(self) -> None:
        self._pgserver: Any = None
        given = os.environ.get("TEST_DATABASE_URL")
        if given:
            self.admin_url = given
        else:
            self.admin_url = self._start_pgserver()
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{TEMPLATE}"')
        init_db(PostgresBackend(with_database(self.admin_url, TEMPLATE), 5000))

    def _start_pgserver(self) -> str:
        folder = tempfile.mkdtemp(prefix="rewards-pg-")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pgserver's own warnings (no XDG_RUNTIME_DIR) are not ours
            try:
                import pgserver
            except ImportError as error:
                raise RuntimeError(HOW_TO_PROVIDE) from error
            try:
                self._pgserver = pgserver.get_server(folder, cleanup_mode="delete")
            except Exception as error:
                raise RuntimeError(f"{HOW_TO_PROVIDE} (pgserver failed: {error})") from error
        return self._pgserver.get_uri()

    def new_database(self) -> str:
        name = f"rewards_t{os.getpid()}_{next(_names)}"
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
        return with_database(self.admin_url, name)

    def empty_database(self) -> str:
        name = f"rewards_e{os.getpid()}_{next(_names)}"
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return with_database(self.admin_url, name)

    def drop(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self._pgserver is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._pgserver.cleanup()


@dataclass
class TestDatabase:
    """One test's database: its URL, and a connection of the test's own to arrange and check."""

    __test__ = False  # not a test class, whatever its name

    engine: str
    url: str
    path: Path | None = None  # the file, for SQLite

    @contextmanager
    def connect(self) -> Iterator[Probe]:
        probe = Probe(self)
        try:
            yield probe
        finally:
            probe.close()


class Probe:
    """Plain SQL on a test's database, written once for both engines (`?` placeholders),
    committed statement by statement; rows read by position or by name."""

    def __init__(self, database: TestDatabase) -> None:
        self.engine = database.engine
        if database.engine == "sqlite":
            self._backend: Any = SqliteBackend(str(database.path), 5000)
            self.conn: Any = sqlite3.connect(database.path, isolation_level=None)
            self.conn.row_factory = sqlite3.Row
        else:
            self._backend = PostgresBackend(database.url, 5000)
            self.conn = pg_connect(database.url)

    def execute(self, sql: str, params: Any = ()) -> Any:
        return self.conn.execute(self._backend.translate(sql), params)

    def scalar(self, sql: str, params: Any = ()) -> Any:
        return self.execute(sql, params).fetchone()[0]

    def close(self) -> None:
        self.conn.close()


def new_sqlite_database(folder: Path) -> TestDatabase:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "rewards.db"
    init_db(SqliteBackend(str(path), 5000))
    return TestDatabase("sqlite", f"sqlite:///{path}", path)


class RestartablePostgres:
    """A PostgreSQL server of one test's own (pgserver's bundled binaries), to stop and start
    under load; the session's server is shared and must stay up."""

    def __init__(self, folder: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver
            from pgserver import _commands

            self._server = pgserver.get_server(folder, cleanup_mode="delete")
        self._pg_ctl = _commands.pg_ctl
        self.folder = folder
        self.url = self._server.get_uri()
        info = self._server.get_postmaster_info()
        self._start_args = [
            "-w",
            "-o",
            '-h ""',
            "-o",
            f"-k {info.socket_dir}",
            "-l",
            str(folder / "restart.log"),
            "start",
        ]
        self.running = True
        with psycopg.connect(self.url, autocommit=True) as admin:
            admin.execute('CREATE DATABASE "rewards"')
        init_db(PostgresBackend(with_database(self.url, "rewards"), 5000))

    def new_database(self) -> str:
        """The test database's URL, with a password in it (the server trusts local sockets and
        ignores it), so a test can look for it where it must never be."""
        parts = urlsplit(with_database(self.url, "rewards"))
        return urlunsplit(parts._replace(netloc=f"postgres:{PASSWORD}@"))

    def stop(self) -> None:
        if self.running:
            self._pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.folder, user=self._server.system_user)
            self.running = False

    def start(self) -> None:
        self._pg_ctl(self._start_args, pgdata=self.folder, user=self._server.system_user, timeout=30)
        self.running = True
