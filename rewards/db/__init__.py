"""The database seam: one face for services, one backend module per engine behind it.

Services get a `Transaction` that the route or command opened, run hand-written SQL on it and
raise domain exceptions; they never BEGIN or COMMIT. SQL is written once, in PostgreSQL's
spelling where the engines differ in a way a backend can translate mechanically (`?`
placeholders become `%s`; `FOR UPDATE` is dropped on SQLite, whose BEGIN IMMEDIATE already
serialises writers). What cannot be translated (schema, bulk insert, backup, health, which
errors mean "unavailable") lives in `sqlite.py` and `postgresql.py`.

Each thread of each worker process keeps one connection for its whole life: opening one per
request cost SQLite 82-85% of a redemption's rate (bench/RESULTS.md), and a PostgreSQL
connection costs a fork on the server.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from flask import current_app

from ..exceptions import DatabaseUnavailable, Refusal
from .counting import Counts, counting

# Ids are 64-bit signed INTEGER (SQLite) and BIGINT (PostgreSQL): a larger one names nothing.
MAX_ID = 2**63 - 1


class Schema(Protocol):
    """init-db's side of an engine: its schema's version, scripts and copies."""

    fresh_schema: Path
    # What to use instead of `backup`, for an engine whose files are not the service's to copy.
    backup_instead: str | None

    def open(self) -> Any: ...
    def open_existing(self) -> Any: ...
    def version(self, conn: Any) -> int: ...
    def is_empty(self, conn: Any) -> bool: ...
    def apply(self, conn: Any, script: str, version: int) -> None: ...
    def drop_everything(self, conn: Any) -> None: ...
    def backup(self, destination: Path) -> None: ...


class Backend(Protocol):
    """What an engine module provides; see sqlite.py and postgresql.py. Shared code asks the
    backend, never its name, what to do differently (the name only picks its migrations)."""

    name: str
    driver_error: type[Exception]
    # The engine writes a batch's CSV itself (COPY), so no row becomes a Python object.
    server_csv: bool
    # The schema redeems a coupon in one function call, and one statement may be a write
    # transaction of its own: where a round trip costs more than a statement (issue #17).
    redeems_in_one_call: bool

    def describe(self) -> str: ...
    def connect(self) -> Any: ...
    def still_usable(self, conn: Any) -> bool: ...
    def translate(self, sql: str) -> str: ...
    def begin_write(self, conn: Any, *, pipelined: bool = False) -> None: ...
    def begin_snapshot(self, conn: Any) -> None: ...
    def commit(self, conn: Any) -> None: ...
    def rollback(self, conn: Any) -> None: ...
    def in_transaction(self, conn: Any) -> bool: ...
    def is_unavailable(self, error: Exception) -> bool: ...
    def refusal(self, error: Exception) -> str | None: ...
    def insert_coupons(self, conn: Any, batch_id: int, tokens: Sequence[str]) -> None: ...
    def unavailable_reason(self, conn: Any) -> str | None: ...
    def stream(self, conn: Any, sql: str, params: Sequence[Any]) -> Iterator[tuple[Any, ...]]: ...
    def claim_build(self, conn: Any, key: int) -> bool: ...
    def release_build(self, conn: Any, key: int) -> None: ...
    def schema(self) -> Schema: ...


class Transaction:
    """An open transaction: what a service is handed."""

    def __init__(self, backend: Backend, conn: Any) -> None:
        self.backend = backend
        self.conn = conn
        self._kept = False
        self._checks: list[tuple[Any, Refusal]] = []

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        return self.conn.execute(self.backend.translate(sql), params)

    def one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = self.execute(sql, params).fetchone()
        self.settle_checks()
        return row

    def all(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        rows = self.execute(sql, params).fetchall()
        self.settle_checks()
        return rows

    def check_later(self, sql: str, params: Sequence[Any] | dict[str, Any], refusal: Refusal) -> None:
        """Send `sql`, whose answer must be a row, without waiting for it: it is read with the
        next result read through this transaction (one, all, scalar) or at the latest before the
        commit, and `refusal` is raised there when it has none. In a PostgreSQL pipeline the
        check so travels in the round trip of the statement after it (a bearer's user checked
        together with an Idempotency-Key's claim). The statements between run all the same, so
        nothing they write may be kept before the check is settled."""
        self._checks.append((self.execute(sql, params), refusal))

    def settle_checks(self) -> None:
        """Read the answers of check_later(): the first without a row raises its refusal."""
        while self._checks:
            cursor, refusal = self._checks.pop(0)
            if cursor.fetchone() is None:
                self._checks.clear()
                raise refusal

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = self.one(sql, params)
        return None if row is None else row[0]

    def insert_coupons(self, batch_id: int, tokens: Sequence[str]) -> None:
        self.backend.insert_coupons(self.conn, batch_id, tokens)

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """Rows as plain tuples, fetched a chunk at a time: memory stays flat however many."""
        return self.backend.stream(self.conn, self.backend.translate(sql), params)

    def copy_csv(self, sql: str, params: dict[str, Any]) -> Iterator[bytes]:
        """The rows of `sql` as CSV written by the server itself, in chunks: only where
        `backend.server_csv` (PostgreSQL's COPY TO STDOUT)."""
        return self.backend.copy_csv(self.conn, self.backend.translate(sql), params)

    @contextmanager
    def kept_when_refused(self) -> Iterator[None]:
        """What the block writes (and all before it) is bookkeeping that persists even when the
        action is refused afterwards: a counted rate-limit hit, a wrong code counted against its
        limit, a claimed Idempotency-Key. A Refusal raised after the block undoes only what came
        after it, then the transaction commits (Database.write). A check_later() still unread is
        settled first: nothing is kept for a caller it refuses."""
        yield
        self.settle_checks()
        if self._kept:
            # One mark at a time: a savepoint per block would nest without end in a loop.
            self.conn.execute("RELEASE SAVEPOINT kept")
        self.conn.execute("SAVEPOINT kept")
        self._kept = True

    @property
    def keeps_refusals(self) -> bool:
        """Whether a kept_when_refused() block ran: a Refusal then commits what it kept."""
        return self._kept

    def undo_since_kept(self) -> None:
        """Roll back what came after the last kept_when_refused() block; what it kept stays."""
        assert self._kept, "a kept_when_refused() block first"
        self.conn.execute("ROLLBACK TO SAVEPOINT kept")


class Database:
    """The app's database: a backend and one kept connection per thread and process."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[Any] = []

    def describe(self) -> str:
        return self.backend.describe()

    def connection(self) -> Any:
        """This thread's connection; a new one after a fork, or when the old one is broken
        (a PostgreSQL restart) or its SQLite file was replaced."""
        kept = getattr(self._local, "kept", None)
        if kept is not None:
            pid, conn = kept
            if pid == os.getpid() and self.backend.still_usable(conn):
                return conn
            self._forget(conn, close=pid == os.getpid())
        try:
            conn = self.backend.connect()
        except self.backend.driver_error as error:
            if self.backend.is_unavailable(error):
                raise DatabaseUnavailable(f"cannot connect to {self.describe()} ({_reason(error)})") from None
            raise
        self._local.kept = (os.getpid(), conn)
        with self._lock:
            self._all.append(conn)
        return conn

    @contextmanager
    def write(self, *, pipelined: bool = False) -> Iterator[Transaction]:
        """A write transaction: committed when the block ends, rolled back on any error,
        except a Refusal after a kept_when_refused() block, which commits what the block kept.
        `pipelined`: on PostgreSQL, statements whose results are not read yet travel together
        (no COPY, no stream() in such a transaction)."""
        conn = self.connection()
        with self._translating_errors(conn):
            self.backend.begin_write(conn, pipelined=pipelined)
            tx = Transaction(self.backend, conn)
            try:
                yield tx
                tx.settle_checks()
            except Refusal:
                if tx.keeps_refusals:
                    conn.execute("ROLLBACK TO SAVEPOINT kept")
                    self._commit(conn)
                else:
                    self._rollback(conn)
                raise
            except BaseException:
                self._rollback(conn)
                raise
            self._commit(conn)

    @contextmanager
    def snapshot(self) -> Iterator[Transaction]:
        """One consistent, read-only view for several SELECTs (a wallet page: its balance
        and its ledger must agree)."""
        conn = self.connection()
        with self._translating_errors(conn):
            self.backend.begin_snapshot(conn)
            try:
                yield Transaction(self.backend, conn)
            finally:
                self._rollback(conn)

    def read(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        """One statement outside any transaction: its first row."""
        conn = self.connection()
        with self._translating_errors(conn):
            return conn.execute(self.backend.translate(sql), params).fetchone()

    def write_statement(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        """One statement that writes, as a transaction of its own: its first row. PostgreSQL
        runs it as the server's implicit transaction, one round trip with no BEGIN or COMMIT
        (a scan, issue #17). Not for SQLite, whose writers wait for the lock in write()'s BEGIN
        IMMEDIATE."""
        assert self.backend.redeems_in_one_call, "this engine's writes go through write()"
        return self.read(sql, params)  # outside any transaction: the connection autocommits

    def read_all(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        """One statement outside any transaction (one snapshot of its own): all its rows."""
        conn = self.connection()
        with self._translating_errors(conn):
            return conn.execute(self.backend.translate(sql), params).fetchall()

    def end_request(self) -> None:
        """A kept connection must never carry a transaction into the next request."""
        kept = getattr(self._local, "kept", None)
        if kept is not None and kept[0] == os.getpid() and self.backend.still_usable(kept[1]):
            self._rollback(kept[1])

    @contextmanager
    def counting(self) -> Iterator[Counts]:
        """Count the statements (and PostgreSQL's round trips) this thread's connection runs
        inside the block: bench/profile.py's figures. Nothing is counted otherwise."""
        with counting(self.connection()) as counts:
            yield counts

    def close(self) -> None:
        """Close every connection this process opened (tests, shutdown)."""
        with self._lock:
            connections, self._all = self._all, []
        for conn in connections:
            try:
                conn.close()
            except self.backend.driver_error:
                pass
        self._local = threading.local()

    @contextmanager
    def _translating_errors(self, conn: Any) -> Iterator[None]:
        """An engine's "cannot serve this now" errors become DatabaseUnavailable (503); a
        bug in a statement stays what it is (500)."""
        try:
            yield
        except self.backend.driver_error as error:
            if self.backend.is_unavailable(error):
                self._rollback(conn)
                raise DatabaseUnavailable(_reason(error)) from error
            raise

    def _commit(self, conn: Any) -> None:
        try:
            self.backend.commit(conn)
        except BaseException:
            # A failed COMMIT (a full disk) must not leave the kept connection mid-transaction.
            self._rollback(conn)
            raise

    def _rollback(self, conn: Any) -> None:
        try:
            self.backend.rollback(conn)
        except self.backend.driver_error:
            pass  # a broken connection: still_usable() replaces it on the next request

    def _forget(self, conn: Any, *, close: bool) -> None:
        with self._lock:
            if conn in self._all:
                self._all.remove(conn)
        if close:
            try:
                conn.close()
            except self.backend.driver_error:
                pass
        self._local.kept = None


def _reason(error: Exception) -> str:
    """For the log: the error's class and the engine's code for it, never its message (which
    can quote a statement's values or a connection string)."""
    code = getattr(error, "sqlite_errorname", None) or getattr(error, "sqlstate", None)
    return f"{type(error).__name__} {code}" if code else type(error).__name__


def open_database(config: dict[str, Any]) -> Database:
    """The Database for DATABASE_URL: SQLite or PostgreSQL by the URL's scheme."""
    if config["DATABASE_ENGINE"] == "postgresql":
        from .postgresql import PostgresBackend

        return Database(PostgresBackend(config["DATABASE_URL"], config["DATABASE_BUSY_TIMEOUT_MS"]))
    from .sqlite import SqliteBackend

    return Database(SqliteBackend(config["DATABASE_PATH"], config["DATABASE_BUSY_TIMEOUT_MS"]))


def get_db() -> Database:
    """The current app's database."""
    return current_app.extensions["rewards.db"]
