"""The database story: connections, their pragmas, and the schema (transactions.py has
BEGIN and COMMIT).

Each thread of each worker process keeps one connection for its whole life instead of opening
one per request: with WAL, connect + pragmas + close (the last close checkpoints the log) cut
the bare redemption transaction to 0.15-0.18 of its rate (bench/RESULTS.md).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path

from flask import current_app

from .transactions import write_transaction

log = logging.getLogger(__name__)

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema.sql"
SCHEMA_VERSION = 1

# SQLite's primary result codes that mean "the database cannot serve this now", as opposed to
# a bug in a statement: busy past the lock timeout, read-only, I/O error, full, cannot open.
UNAVAILABLE_CODES = frozenset({5, 6, 8, 10, 13, 14, 15})


class DatabaseUnavailable(Exception):
    """The database file is missing, busy, read-only or full: try again later (503)."""


def is_unavailable(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and (code & 0xFF) in UNAVAILABLE_CODES


class Connection(sqlite3.Connection):
    """sqlite3's connection, plus how long it waits for the write lock."""

    lock_timeout: float = 5.0


def connect(path: str, lock_timeout_ms: int = 5000, *, create: bool = False) -> Connection:
    """A connection with the service's pragmas. Without `create`, a missing file is an error
    rather than a new empty database (only init-db creates one)."""
    mode = "rwc" if create else "rw"
    conn = sqlite3.connect(
        f"{Path(path).as_uri()}?mode={mode}",
        uri=True,
        # We issue BEGIN/COMMIT ourselves; the module's implicit transactions would hide them.
        isolation_level=None,
        # SQLite's own busy handler sleeps 1, 2, 5, 10 ... 100 ms between tries, so a worker
        # that finds the write lock taken oversleeps its release by milliseconds; under load
        # that cut /scan to a fraction of the bare transaction's rate (bench/RESULTS.md).
        # begin_immediate() waits for the lock itself, in steps of tens of microseconds.
        timeout=0,
        # Each connection is used by one thread only; close() may run on another at shutdown.
        check_same_thread=False,
        factory=Connection,
    )
    conn.lock_timeout = lock_timeout_ms / 1000
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    # FULL: a redemption answered 200 survives a power cut, not only a process crash.
    conn.execute("PRAGMA synchronous = FULL")
    return conn


class Database:
    """One kept connection per thread and process for one database file."""

    def __init__(self, path: str, lock_timeout_ms: int) -> None:
        self.path = path
        self.lock_timeout_ms = lock_timeout_ms
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[sqlite3.Connection] = []

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, reopened after a fork or when the file was replaced."""
        try:
            identity = os.stat(self.path)
        except FileNotFoundError:
            raise DatabaseUnavailable("the database file is missing; run `flask --app app init-db`") from None
        kept = getattr(self._local, "kept", None)
        if kept is not None:
            pid, inode, conn = kept
            # A restore that moves a file into place, or a deleted file, must not leave us
            # writing into an inode nobody will ever read again.
            if pid == os.getpid() and inode == (identity.st_dev, identity.st_ino):
                return conn
            self._forget(conn, close=pid == os.getpid())
        try:
            conn = connect(self.path, self.lock_timeout_ms)
        except sqlite3.Error as error:
            if is_unavailable(error):
                raise DatabaseUnavailable(f"the database cannot be opened ({error.sqlite_errorname})") from None
            raise
        self._local.kept = (os.getpid(), (identity.st_dev, identity.st_ino), conn)
        with self._lock:
            self._all.append(conn)
        return conn

    def end_request(self) -> None:
        """A kept connection must never carry a transaction into the next request."""
        kept = getattr(self._local, "kept", None)
        if kept is not None and kept[2].in_transaction:
            kept[2].execute("ROLLBACK")

    def close(self) -> None:
        """Close every connection this process opened (tests, shutdown)."""
        with self._lock:
            connections, self._all = self._all, []
        for conn in connections:
            conn.close()
        self._local = threading.local()

    def _forget(self, conn: sqlite3.Connection, *, close: bool) -> None:
        with self._lock:
            if conn in self._all:
                self._all.remove(conn)
        if close:
            conn.close()
        self._local.kept = None


def get_db() -> Connection:
    """The current thread's connection to the app's database."""
    return current_app.extensions["rewards.db"].connection()


def init_schema(path: str, *, reset: bool = False) -> str:
    """Create the database file and schema; with `reset`, drop every table first. Returns
    what it did, in words for the operator."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = connect(path, create=True)
    # A one-off command may wait for a running service's writers in SQLite's own way.
    conn.execute("PRAGMA busy_timeout = 5000")
    try:
        # WAL lets readers go on while one writer commits; it is a property of the file.
        conn.execute("PRAGMA journal_mode = WAL")
        if reset:
            _drop_all_tables(conn)
        before = _schema_objects(conn)
        conn.executescript(SCHEMA_PATH.read_text(encoding="utf-8"))
        added = sorted(_schema_objects(conn) - before)
    finally:
        conn.close()
    if reset:
        return f"Reset the database at {path}: every row deleted, schema version {SCHEMA_VERSION} created"
    if not before:
        return f"Created the schema (version {SCHEMA_VERSION}) in the database at {path}"
    if added:
        return f"Added what was missing to the database at {path} ({', '.join(added)}); every row kept"
    return f"The database at {path} is already at schema version {SCHEMA_VERSION}; nothing changed"


def _schema_objects(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'")}


def _drop_all_tables(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA foreign_keys = OFF")
    names = [
        row[0]
        for row in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    ]
    with write_transaction(conn):
        for name in names:
            quoted = name.replace('"', '""')
            conn.execute(f'DROP TABLE "{quoted}"')
        conn.execute("PRAGMA user_version = 0")
    conn.execute("PRAGMA foreign_keys = ON")


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]
