"""Fixed-window rate limits kept in the database, so every worker process counts together.

A counter in one process's memory would let `-w 4` grant four times the limit. The hit is
one UPSERT inside the caller's write transaction, so it costs no extra commit.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

_HIT = """
INSERT INTO rate_limits (key, window_start, hits) VALUES (:key, :now, 1)
ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN window_start <= :now - :window THEN 1 ELSE hits + 1 END,
    window_start = CASE WHEN window_start <= :now - :window THEN :now ELSE window_start END
RETURNING hits, window_start
"""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the window reopens; 0 when allowed


def hit(conn: sqlite3.Connection, key: str, limit: int, window: int, now: int) -> Verdict:
    """Count one call against `key`. Call inside a write transaction."""
    hits, window_start = conn.execute(_HIT, {"key": key, "now": now, "window": window}).fetchone()
    if hits <= limit:
        return Verdict(True, 0)
    return Verdict(False, max(1, window_start + window - now))
