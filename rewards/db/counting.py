"""Counting what a request asks of the database, for bench/profile.py: SQL statements, and on
PostgreSQL the round trips that carry them. Off unless a caller turns it on for one connection,
so a request served normally pays nothing for it."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass
class Counts:
    statements: int = 0
    # Statements that triggers ran inside the engine (SQLite says so; PostgreSQL does not).
    in_triggers: int = 0
    # Times the client sent and then waited for the server; None where there is no server.
    round_trips: int | None = None


@contextmanager
def counting(conn: Any) -> Iterator[Counts]:
    """Count what runs on `conn` inside the block; the figures are complete when it ends."""
    counts = Counts()
    if isinstance(conn, sqlite3.Connection):
        with _sqlite(conn, counts):
            yield counts
    else:
        with _postgresql(conn, counts):
            yield counts


@contextmanager
def _sqlite(conn: sqlite3.Connection, counts: Counts) -> Iterator[None]:
    def seen(sql: str) -> None:
        # SQLite reports each statement a trigger runs as a comment naming the trigger. A
        # trigger whose WHEN holds back its body (users_balance_never_negative, on every
        # balance change) is reported as its statement's text a second time: that statement
        # ran once, and is counted twice here (SQLite 3.40), as in every figure so far.
        if sql.startswith("-- TRIGGER"):
            counts.in_triggers += 1
        else:
            counts.statements += 1

    conn.set_trace_callback(seen)
    try:
        yield
    finally:
        conn.set_trace_callback(None)


@contextmanager
def _postgresql(conn: Any, counts: Counts) -> Iterator[None]:
    # Statements: libpq's own trace of the protocol, every message the client sends.
    from psycopg import pq

    counts.round_trips = 0
    waits = conn.wait

    def wait(gen: Any, *args: Any, **kwargs: Any) -> Any:
        # A round trip is a point where the client cannot go on without the server's answer:
        # outside a pipeline every statement; inside one, only a result asked for while
        # results are still owed (a fetch, leaving the pipeline). Counted by what psycopg is
        # waiting for, not by what has arrived: on a local socket answers come back so fast
        # that the order of messages in the trace says nothing about who waited.
        name = getattr(gen, "__qualname__", "")
        pipeline = conn._pipeline
        if pipeline is None:
            counts.round_trips += name.endswith(("_execute_gen", "_executemany_gen_no_pipeline"))
        elif name.endswith(("_fetch_gen", "_exit_gen", "_sync_gen")):
            counts.round_trips += bool(pipeline.result_queue or pipeline.command_queue)
        return waits(gen, *args, **kwargs)

    with tempfile.TemporaryFile("w+") as trace:
        conn.pgconn.trace(trace.fileno())
        conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        conn.wait = wait
        try:
            yield
        finally:
            del conn.wait
            conn.pgconn.untrace()
        trace.seek(0)
        for line in trace:
            direction, _, rest = line.partition("\t")
            message = rest.partition("\t")[2].split("\t", 1)[0].strip()
            if direction == "F" and message in ("Execute", "Query"):
                counts.statements += 1
