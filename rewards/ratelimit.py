"""Fixed-window rate limits kept in the database, so every worker and host counts together.

A counter in one process's memory would let `-w 4` grant four times the limit. The hit is one
UPSERT inside the caller's write transaction, so it costs no extra commit; on PostgreSQL the
UPSERT's row lock makes concurrent hits of one key count one after another.
"""

from __future__ import annotations

from dataclasses import dataclass

from .db import Transaction
from .exceptions import RateLimited

# Columns qualified: in PostgreSQL's DO UPDATE a bare `hits` is ambiguous with excluded.hits.
_HIT = """
INSERT INTO rate_limits (key, window_start, hits) VALUES (:key, :now, 1)
ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN rate_limits.window_start <= :now - :window THEN 1 ELSE rate_limits.hits + 1 END,
    window_start = CASE WHEN rate_limits.window_start <= :now - :window THEN :now ELSE rate_limits.window_start END
RETURNING hits, window_start
"""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the window reopens; 0 when allowed


def hit(tx: Transaction, key: str, limit: int, window: int, now: int) -> Verdict:
    """Count one call against `key`."""
    hits, window_start = tx.one(_HIT, {"key": key, "now": now, "window": window})
    if hits <= limit:
        return Verdict(True, 0)
    return Verdict(False, max(1, window_start + window - now))


def count(tx: Transaction, key: str, limit: tuple[int, int], now: int, detail: str) -> None:
    """Count one call against `key` and refuse it (RateLimited, `detail`) past `limit` (calls,
    seconds). The hit outlives the refusal and any later one: refused calls count too."""
    count_in_turn(tx, [(key, limit, detail)], now)


def count_in_turn(tx: Transaction, limits: list[tuple[str, tuple[int, int], str]], now: int) -> None:
    """count() of each (key, limit, detail) in order, stopping at the first refused: the keys
    after it are not counted, exactly as separate count() calls would leave them. The hits are
    kept by one kept_when_refused() block, not one each: two savepoint statements fewer for
    /auth/otp's two limits (issue #17)."""
    refused = None
    with tx.kept_when_refused():
        for key, (calls, seconds), detail in limits:
            verdict = hit(tx, key, calls, seconds, now)
            if not verdict.allowed:
                refused = RateLimited(detail, retry_after=verdict.retry_after)
                break
    if refused is not None:
        raise refused
