"""Ceilings measured in-process, no HTTP: the redemption transaction alone (on either engine),
and a raw insert of a million ready-made tokens."""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

from rewards.db import Database
from rewards.db.sqlite import connect
from rewards.redemption.service import redeem_coupon

from .seed import NO_LIMIT, add_users, new_coupons


def redemption_rate(make_database: Any, seconds: float, *, per_connection: bool = False) -> dict:
    """Redeem distinct coupons one transaction after another for `seconds`, on one connection,
    through the service's own redeem_coupon: transactions per second and latency percentiles.
    `make_database()` gives a fresh, migrated Database; with `per_connection` each
    transaction opens (and closes) its own connection."""
    db: Database = make_database()
    ((user_id, _),) = add_users(db, 1, prefix=900)
    coupons = new_coupons(db, 60_000)
    latencies = []
    cpu_started = time.process_time()
    deadline = time.perf_counter() + seconds
    for coupon in coupons:
        started = time.perf_counter()
        with db.write() as tx:
            redeem_coupon(tx, user_id, coupon, int(time.time()), NO_LIMIT)
        if per_connection:
            db.close()
        latencies.append(time.perf_counter() - started)
        if started > deadline:
            break
    cpu_us = (time.process_time() - cpu_started) / len(latencies) * 1e6
    db.close()
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "cpu_us": cpu_us,
        "rate": len(latencies) / sum(latencies),
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
        "n": len(latencies),
    }


def raw_insert_seconds(path: str, count: int) -> float:
    """executemany of `count` ready-made tokens into SQLite's coupons, one transaction, timed
    alone (the database at `path` is migrated already)."""
    conn = connect(path)
    tokens = [str(uuid.uuid4()) for _ in range(count)]
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO batches (id, count, points, created_at) VALUES (1, ?, 10, 0)", (count,))
    conn.executemany("INSERT INTO coupons (token, batch_id) VALUES (?, 1)", ((t,) for t in tokens))
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed
