"""gen-coupons' batches: up to a million coupons in short transactions, seen only when whole.

One transaction for a million coupons held SQLite's write lock for ~20 s, and every scan meanwhile
waited its 5 s and answered 503. Here each run of coupons (tokens.py: at most ~4,096, sorted, from
one slice of the token space) commits on its own, so a request waits for one run at most. The
batch's row carries `builder`, the key of a lock that the building process holds, until the
last transaction sets it to NULL together with the audit entry; every reader (lookups, scans, lists, counts, exports) ignores a batch whose builder is
set, and the scan path reads the batch row for its void check already, so the rule costs it a
column. A builder that dies (Ctrl-C, a kill, a full disk) leaves rows nobody can see; its lock
dies with its process or session, which is how the next init-db or gen-coupons knows to clear
them, and why it never clears a build that another operator is still running.

Chosen over a staging table, whose rows would have to be moved into `coupons` in one long
transaction at the end, and over a status per coupon, whose flip would touch every row.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from .. import clock
from ..db import Database
from .batches import Batch, announce, insert_batch
from .tokens import token_runs

# Coupons deleted per transaction when an unfinished batch is cleared: deleting a million rows
# in one transaction would hold SQLite's write lock as long as making them did.
CLEAR_CHUNK = 10_000
# Lock keys: random, so two builders never share one; below 2**62, a valid offset for a byte
# lock on SQLite and a bigint for PostgreSQL's advisory locks.
_KEYS = 2**62 - 1
# A failed build's own clearing: tries before leaving its rows to clear_abandoned().
_DISCARD_TRIES = 3

_FINISH = "UPDATE batches SET builder = NULL, created_at = ? WHERE id = ? AND builder = ? RETURNING id"
_CLEAR_SOME = "DELETE FROM coupons WHERE id IN (SELECT id FROM coupons WHERE batch_id = ? LIMIT ?)"


class BuildLost(Exception):
    """The builder lost the lock that keeps its batch from being cleared (its PostgreSQL
    session was replaced mid-run): it stops rather than finish a batch someone may be clearing."""


def build_batch(
    db: Database,
    operator: str,
    *,
    count: int,
    points: int,
    expires_at: int | None,
    label: str | None,
    on_chunk: Callable[[int, list[str]], None],
    before_whole: Callable[[], None] = lambda: None,
) -> Batch:
    """Make a batch of `count` coupons a run per transaction, handing each committed run of
    tokens to `on_chunk(batch_id, tokens)`, then call `before_whole()` (make the output durable)
    and make the batch whole. On any failure or interruption the rows made so far are cleared
    when that can be done; what cannot is left invisible for clear_abandoned()."""
    key = secrets.randbelow(_KEYS) + 1
    conn = db.connection()
    if not db.backend.claim_build(conn, key):
        raise BuildLost("the lock of a new build was taken")  # a random 62-bit key: never in practice
    batch_id: int | None = None
    try:
        with db.write() as tx:
            batch_id = insert_batch(
                tx, count=count, points=points, expires_at=expires_at, label=label, now=clock.now(), builder=key
            )
        for run in token_runs(count):
            _still_holding(db, conn)
            with db.write() as tx:
                tx.insert_coupons(batch_id, run)
            on_chunk(batch_id, run)
        before_whole()
        _still_holding(db, conn)
        # The batch is created, and audited, at the moment it becomes whole.
        now = clock.now()
        with db.write() as tx:
            if tx.scalar(_FINISH, (now, batch_id, key)) is None:
                raise BuildLost(f"batch {batch_id} was cleared while it was being made")
            return announce(tx, operator, Batch(batch_id, label, count, points, expires_at, now))
    except BaseException:
        if batch_id is not None:
            _discard_quietly(db, batch_id, key)
        raise
    finally:
        try:
            db.backend.release_build(conn, key)
        except db.backend.driver_error:
            pass  # a dead session has released it already


def clear_abandoned(db: Database) -> int:
    """Clear every unfinished batch whose builder is gone, a chunk of coupons per transaction;
    return how many. A build whose lock is held (a live gen-coupons, here or on another host of
    a PostgreSQL database) is left alone. Not to be called by a process while it builds: its own
    locks would look free to it."""
    with db.snapshot() as tx:
        builds = [(row[0], row[1]) for row in tx.all("SELECT id, builder FROM batches WHERE builder IS NOT NULL")]
    conn = db.connection()
    cleared = 0
    for batch_id, key in builds:
        if not db.backend.claim_build(conn, key):
            continue  # its builder is alive
        try:
            cleared += discard(db, batch_id, key)
        finally:
            db.backend.release_build(conn, key)
    return cleared


def discard(db: Database, batch_id: int, key: int) -> int:
    """Delete an unfinished batch and its coupons, CLEAR_CHUNK coupons per transaction; 1 if it
    was deleted here, 0 if it had become whole or was gone. The caller holds its lock."""
    while True:
        with db.write() as tx:
            # Checked in every transaction: a finished batch is never touched.
            if tx.scalar("SELECT builder FROM batches WHERE id = ?", (batch_id,)) != key:
                return 0
            tx.execute(_CLEAR_SOME, (batch_id, CLEAR_CHUNK))
            if tx.one("SELECT 1 FROM coupons WHERE batch_id = ? LIMIT 1", (batch_id,)) is None:
                tx.execute("DELETE FROM batches WHERE id = ?", (batch_id,))
                return 1


def _discard_quietly(db: Database, batch_id: int, key: int) -> None:
    """Clear a failed build's rows now if the database lets us (a full disk may not); what is
    left stays invisible until clear_abandoned() clears it. Tried a few times: after Ctrl-C in
    a statement, psycopg's cancel request can reach the server late and cancel the next
    statement instead, the first of this clearing."""
    for _attempt in range(_DISCARD_TRIES):
        try:
            discard(db, batch_id, key)
            return
        except Exception:  # noqa: BLE001 - the build's own failure is the one to report
            continue


def _still_holding(db: Database, conn: object) -> None:
    # A replaced connection means a PostgreSQL session (and its advisory lock) was lost.
    if db.connection() is not conn:
        raise BuildLost("the database connection holding the build's lock was lost")
