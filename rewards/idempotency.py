"""Idempotent retries: the first answer to a request sent with an Idempotency-Key is kept with
the key, in the transaction of the action it answers, and given again to the same caller's
retries for 24 hours. The key is claimed first in that transaction, so a retry that arrives
while the first request runs waits for it: on PostgreSQL its INSERT waits on the unique key
the first one holds, on SQLite its transaction waits for the write lock."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .db import Transaction
from .exceptions import IdempotencyKeyReused

TTL_SECONDS = 86_400
PURGE_CHANCE = 1 / 256


@dataclass(frozen=True)
class Kept:
    status: int
    body: str


def claim(tx: Transaction, caller: str, key: str, fingerprint: str, now: int) -> Kept | None:
    """None when the key is new (it is now claimed in this transaction); the kept answer when
    the same request came before; IdempotencyKeyReused when another request used the key."""
    expired = now - TTL_SECONDS
    tx.execute("DELETE FROM idempotency_keys WHERE caller = ? AND key = ? AND created_at <= ?", (caller, key, expired))
    if random.random() < PURGE_CHANCE:
        # Everyone's expired keys, now and then: the table holds about a day of keys however
        # long the service runs, and no single request pays for more than its share.
        tx.execute("DELETE FROM idempotency_keys WHERE created_at <= ?", (expired,))
    claimed = tx.scalar(
        "INSERT INTO idempotency_keys (caller, key, fingerprint, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (caller, key) DO NOTHING RETURNING 1",
        (caller, key, fingerprint, now),
    )
    if claimed is not None:
        return None
    row = tx.one("SELECT fingerprint, status, body FROM idempotency_keys WHERE caller = ? AND key = ?", (caller, key))
    if row["fingerprint"] != fingerprint:
        raise IdempotencyKeyReused("This Idempotency-Key was used for another request (method, path or body).")
    return Kept(row["status"], row["body"])


def keep(tx: Transaction, caller: str, key: str, status: int, body: str) -> None:
    tx.execute(
        "UPDATE idempotency_keys SET status = ?, body = ? WHERE caller = ? AND key = ?", (status, body, caller, key)
    )


def release(tx: Transaction, caller: str, key: str) -> None:
    """Forget a claim whose answer is not kept (429, 5xx): a retry is carried out afresh."""
    tx.execute("DELETE FROM idempotency_keys WHERE caller = ? AND key = ?", (caller, key))
