"""Transactions: BEGIN that waits for the write lock without oversleeping, and the two
shapes every service uses (a write transaction, a read snapshot)."""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

SQLITE_BUSY = 5
_FIRST_WAIT = 0.00005
_LONGEST_WAIT = 0.002


def begin_immediate(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, waiting up to the connection's lock_timeout for the write lock; then
    the SQLITE_BUSY error goes on (a 503)."""
    deadline = None
    wait = _FIRST_WAIT
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
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


@contextmanager
def write_transaction(
    conn: sqlite3.Connection, *, commit_on: tuple[type[BaseException], ...] = ()
) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error.

    IMMEDIATE takes the write lock up front, so two writers never both read a coupon as
    unredeemed and then race to update it. Exceptions listed in `commit_on` are refusals whose
    bookkeeping (a counted attempt, a rate-limit hit) must persist: the transaction commits,
    then the exception goes on.
    """
    begin_immediate(conn)
    try:
        yield conn
    except commit_on:
        _commit(conn)
        raise
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        _commit(conn)


def _commit(conn: sqlite3.Connection) -> None:
    """COMMIT, or, when the commit itself fails (a full disk), roll back so the kept
    connection never carries an open transaction into its next request."""
    try:
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


@contextmanager
def read_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One consistent snapshot for several SELECTs. A deferred BEGIN takes no lock, so it
    never waits."""
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
