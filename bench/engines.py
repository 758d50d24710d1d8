"""What the one-process list benches share: a statement's median time through the service, and
the same measurement run on a SQLite file and then on a fresh PostgreSQL database."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from bench.harness import OUT, sqlite_database
from bench.postgres import BenchPostgres
from rewards.db import Database

# measure(engine name, database, settle) -> rows; settle() runs once the rows are seeded
# (PostgreSQL's ANALYZE, so the planner sees them).
Measure = Callable[[str, Database, Callable[[], None]], list[dict]]


def per_call_ms(db: Database, call: Callable, calls: int) -> float:
    """Median milliseconds of one call, over `calls` calls each in its own snapshot."""
    times = []
    for _ in range(calls):
        with db.snapshot() as tx:
            start = time.perf_counter()
            call(tx)
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def on_both_engines(name: str, measure: Measure) -> list[dict]:
    """`measure` on bench/out/<name>.db, then on a PostgreSQL database <name> made for it."""
    OUT.mkdir(parents=True, exist_ok=True)
    db = sqlite_database(OUT / f"{name}.db")
    try:
        results = measure("SQLite", db, lambda: None)
    finally:
        db.close()
    postgres = BenchPostgres()
    try:
        url = postgres.fresh(f"rewards_{name}")
        pg = postgres.database(url)
        try:
            results += measure("PostgreSQL", pg, lambda: postgres.analyze(url))
        finally:
            pg.close()
    finally:
        postgres.stop()
    return results
