"""SQLite, the embedded engine: one file shared by every worker process.

Writers are serialised by BEGIN IMMEDIATE, which takes the write lock up front, so a read
followed by a write inside one transaction sees nothing change in between (PostgreSQL needs
FOR UPDATE for that; it is dropped here). WAL lets readers go on while one writer commits.
"""

from __future__ import annotations

import errno
import fcntl
import os
import random
import re
import sqlite3
import stat
import time
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

# SQLite's primary result codes that mean "the database cannot serve this now", as opposed to
# a bug in a statement: busy past the lock timeout, read-only, I/O error, full, cannot open.
UNAVAILABLE_CODES = frozenset({5, 6, 8, 10, 13, 14, 15})
SQLITE_BUSY = 5
# Below this much free space a redemption may fail half-way through its commit; say so early.
MIN_FREE_BYTES = 1 << 20

STREAM_CHUNK = 2000
# The mode of the files the service makes: they hold live tokens and phone numbers.
PRIVATE = 0o600
_FIRST_WAIT = 0.00005
_LONGEST_WAIT = 0.002
_FOR_UPDATE = re.compile(r"\s+FOR (?:NO KEY )?UPDATE(?: OF \w+(?:, \w+)*)?\s*$", re.IGNORECASE)


class Connection(sqlite3.Connection):
    """sqlite3's connection, plus which file (inode) it opened and how long it waits for the
    write lock."""

    lock_timeout: float = 5.0
    identity: tuple[int, int] = (0, 0)


class SqliteBackend:
    name = "sqlite"
    server_csv = False
    redeems_in_one_call = False
    driver_error = sqlite3.Error

    def __init__(self, path: str, lock_timeout_ms: int) -> None:
        self.path = path
        self.lock_timeout_ms = lock_timeout_ms
        self._builders_fd: int | None = None

    def describe(self) -> str:
        return self.path

    def connect(self) -> Connection:
        """Without a file there is no database: only init-db creates one."""
        try:
            identity = os.stat(self.path)
        except FileNotFoundError:
            raise sqlite3.OperationalError("unable to open database file: it does not exist") from None
        conn = connect(self.path, self.lock_timeout_ms)
        conn.identity = (identity.st_dev, identity.st_ino)
        return conn

    def schema(self) -> SqliteSchema:
        return SqliteSchema(self)

    def still_usable(self, conn: Connection) -> bool:
        # A restore that moves a file into place, or a deleted file, must not leave us writing
        # into an inode nobody will ever read again.
        try:
            identity = os.stat(self.path)
        except FileNotFoundError:
            return False
        return conn.identity == (identity.st_dev, identity.st_ino)

    def translate(self, sql: str) -> str:
        return _translate(sql)

    def begin_write(self, conn: Connection, *, pipelined: bool = False) -> None:
        # A file has no round trips to save: `pipelined` means nothing here.
        begin_immediate(conn)

    def begin_snapshot(self, conn: Connection) -> None:
        # A deferred BEGIN takes no lock, so it never waits; WAL gives it one snapshot.
        conn.execute("BEGIN")

    def in_transaction(self, conn: Connection) -> bool:
        return conn.in_transaction

    def commit(self, conn: Connection) -> None:
        conn.execute("COMMIT")

    def rollback(self, conn: Connection) -> None:
        if conn.in_transaction:
            conn.execute("ROLLBACK")

    def is_unavailable(self, error: Exception) -> bool:
        code = getattr(error, "sqlite_errorcode", None)
        if code is None:
            # Raised by connect() for a missing file, or by sqlite3 without a code.
            return isinstance(error, sqlite3.OperationalError)
        return (code & 0xFF) in UNAVAILABLE_CODES

    def refusal(self, error: Exception) -> None:
        # A file has no server to turn a connection away: what fails to open is unavailable.
        return None

    def insert_coupons(self, conn: Connection, batch_id: int, tokens: Sequence[str]) -> None:
        conn.executemany("INSERT INTO coupons (token, batch_id) VALUES (?, ?)", ((t, batch_id) for t in tokens))

    def stream(self, conn: Connection, sql: str, params: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        cursor = conn.execute(sql, params)
        cursor.row_factory = None  # plain tuples
        while rows := cursor.fetchmany(STREAM_CHUNK):
            yield from rows

    def claim_build(self, conn: Connection, key: int) -> bool:
        """Take the lock of the batch build `key`, if no live process holds it: a byte-range
        lock at offset `key` of the file `<database>-builders`. The kernel drops it when its
        process ends, however it ends, so a lock that can be taken names a builder that is gone
        (exact on the one host a SQLite file lives on; no pid that could be reused)."""
        try:
            fcntl.lockf(self._builders(), fcntl.LOCK_EX | fcntl.LOCK_NB, 1, key)
        except OSError as error:
            if error.errno in (errno.EACCES, errno.EAGAIN):
                return False
            raise
        return True

    def release_build(self, conn: Connection, key: int) -> None:
        fcntl.lockf(self._builders(), fcntl.LOCK_UN, 1, key)

    def _builders(self) -> int:
        # One descriptor for the life of the process: POSIX drops all of a process's locks on a
        # file when it closes any descriptor of it.
        if self._builders_fd is None:
            self._builders_fd = os.open(f"{self.path}-builders", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return self._builders_fd

    def unavailable_reason(self, conn: Connection) -> str | None:
        """Why a redemption cannot be taken now, beyond the schema: the write lock (read-only
        file, a writer holding it past the timeout) and free disk space."""
        begin_immediate(conn)  # takes and drops the write lock, writing nothing
        conn.execute("ROLLBACK")
        disk = os.statvfs(os.path.dirname(self.path))
        if disk.f_bavail * disk.f_frsize < MIN_FREE_BYTES:
            return "disk almost full"
        return None


@lru_cache(maxsize=512)
def _translate(sql: str) -> str:
    return _FOR_UPDATE.sub("", sql)


def connect(path: str, lock_timeout_ms: int = 5000, *, create: bool = False) -> Connection:
    """A connection with the service's pragmas. Without `create`, a missing file is an error
    rather than a new empty database."""
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
    # A connection's first statements read the WAL index, which is briefly busy while another
    # process opens, checkpoints or closes the file (a gunicorn worker recycled as its
    # neighbour starts): with no busy handler, wait for it here too.
    execute_when_free(conn, "PRAGMA foreign_keys = ON")
    # FULL: a redemption answered 200 survives a power cut, not only a process crash.
    execute_when_free(conn, "PRAGMA synchronous = FULL")
    return conn


def make_private(path: str) -> None:
    """The database holds live coupon tokens and phone numbers: its file (created here if
    missing, in a folder of the owner's only if that is created too) is readable by its owner
    only. SQLite gives the `-wal` and `-shm` files it makes the main file's mode; those left by a
    release that made the file 0644 are tightened with it."""
    database = Path(path)
    database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(database, os.O_RDWR | os.O_CREAT, PRIVATE))
    for file in (database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
        try:
            mode = stat.S_IMODE(os.stat(file).st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            os.chmod(file, mode & ~0o077)


def begin_immediate(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, waiting up to the connection's lock_timeout for the write lock; then
    the SQLITE_BUSY error goes on (a 503)."""
    execute_when_free(conn, "BEGIN IMMEDIATE")


def execute_when_free(conn: sqlite3.Connection, statement: str) -> None:
    """Run `statement`, retrying while SQLite answers BUSY, in steps of tens of microseconds,
    for up to the connection's lock_timeout."""
    deadline = None
    wait = _FIRST_WAIT
    while True:
        try:
            conn.execute(statement)
            return
        except sqlite3.OperationalError as error:
            if getattr(error, "sqlite_errorcode", 0) & 0xFF != SQLITE_BUSY:
                raise
            now = time.monotonic()
            if deadline is None:
                deadline = now + getattr(conn, "lock_timeout", 5.0)
            if now >= deadline:
                raise
            # Jitter keeps waiting workers from retrying in lock-step.
            time.sleep(min(wait * random.uniform(0.5, 1.5), deadline - now))
            wait = min(wait * 2, _LONGEST_WAIT)


class SqliteSchema:
    """init-db's side of SQLite: the file, the version (PRAGMA user_version, as release 1.0.0
    kept it), scripts applied atomically."""

    fresh_schema = Path(__file__).resolve().parents[2] / "schema.sql"
    backup_instead = None

    def __init__(self, backend: SqliteBackend) -> None:
        self.backend = backend
        self.path = backend.path

    def open_existing(self) -> Connection:
        """The service's own connection: a missing file is an error, not a new database."""
        return self.backend.connect()

    def open(self) -> sqlite3.Connection:
        make_private(self.path)
        conn = connect(self.path, create=True)
        # A one-off command may wait for a running service's writers in SQLite's own way.
        conn.execute("PRAGMA busy_timeout = 5000")
        # WAL lets readers go on while one writer commits; it is a property of the file.
        conn.execute("PRAGMA journal_mode = WAL")
        return conn

    def version(self, conn: sqlite3.Connection) -> int:
        return conn.execute("PRAGMA user_version").fetchone()[0]

    def is_empty(self, conn: sqlite3.Connection) -> bool:
        return conn.execute("SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'").fetchone()[0] == 0

    def apply(self, conn: sqlite3.Connection, script: str, version: int) -> None:
        """`script` and the new version in one transaction: all of it or none."""
        # A migration that rebuilds a table must not trip over foreign keys half-way; they
        # are checked as a whole before the commit (foreign_key_check).
        conn.execute("PRAGMA foreign_keys = OFF")
        try:
            conn.executescript(f"BEGIN IMMEDIATE;\n{script}\n;PRAGMA user_version = {int(version)};")
            broken = conn.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise sqlite3.IntegrityError(f"foreign keys broken by version {version}: {len(broken)} rows")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.execute("PRAGMA foreign_keys = ON")

    def drop_everything(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA foreign_keys = OFF")
        names = [
            row[0]
            for row in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        ]
        begin_immediate(conn)
        for name in names:
            quoted = name.replace('"', '""')
            conn.execute(f'DROP TABLE "{quoted}"')
        conn.execute("PRAGMA user_version = 0")
        conn.execute("COMMIT")
        conn.execute("PRAGMA foreign_keys = ON")

    def backup(self, destination: Path) -> None:
        """A consistent copy with SQLite's online backup API into `destination`, a new empty file
        that the caller made (private, beside the backup's name)."""
        source = connect(self.path)
        try:
            target = sqlite3.connect(destination)
            try:
                # One step copies everything under one read snapshot: the copy is a single
                # consistent point in time, and WAL lets writers carry on meanwhile.
                source.backup(target, pages=-1)
            finally:
                target.close()
        finally:
            source.close()
