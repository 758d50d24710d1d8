"""Ceilings measured in-process, no HTTP: the redemption transaction alone, and a raw insert
of a million ready-made tokens. Both on the service's own schema and pragmas."""

from __future__ import annotations

import sqlite3
import statistics
import time
import uuid
from pathlib import Path

from rewards.db import connect, init_schema
from rewards.scan import redeem_coupon

from .seed import add_users, new_coupons

NO_LIMIT = (10**9, 60)


def redemption_rate(path: Path, seconds: float, *, per_connection: bool = False, synchronous: str = "FULL") -> dict:
    """Redeem distinct coupons one transaction after another for `seconds`, through the
    service's own redeem_coupon: transactions per second and latency percentiles."""
    init_schema(str(path))
    setup = connect(str(path))
    ((user_id, _),) = add_users(setup, 1, prefix=900)
    coupons = new_coupons(setup, 60_000)
    setup.close()

    def open_conn() -> sqlite3.Connection:
        conn = connect(str(path))
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        return conn

    conn = None if per_connection else open_conn()
    latencies = []
    cpu_started = time.process_time()
    deadline = time.perf_counter() + seconds
    for coupon in coupons:
        started = time.perf_counter()
        if per_connection:
            conn = open_conn()
        redeem_coupon(conn, user_id, coupon, int(time.time()), NO_LIMIT)
        if per_connection:
            conn.close()
        latencies.append(time.perf_counter() - started)
        if started > deadline:
            break
    cpu_us = (time.process_time() - cpu_started) / len(latencies) * 1e6
    if not per_connection:
        conn.close()
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "cpu_us": cpu_us,
        "rate": len(latencies) / sum(latencies),
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
        "n": len(latencies),
    }


def raw_insert_seconds(path: Path, count: int) -> float:
    """executemany of `count` ready-made tokens into coupons, one transaction, timed alone."""
    init_schema(str(path))
    conn = connect(str(path))
    tokens = [str(uuid.uuid4()) for _ in range(count)]
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO batches (id, count, points, created_at) VALUES (1, ?, 10, 0)", (count,))
    conn.executemany("INSERT INTO coupons (token, batch_id) VALUES (?, 1)", ((t,) for t in tokens))
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed
