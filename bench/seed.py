"""Arrange bench data through the service's own code, on either engine: users with tokens,
ledgers of a chosen length, coupons written to files for the wrk scripts."""

from __future__ import annotations

import time
from pathlib import Path

from rewards.auth.otp import user_for_phone
from rewards.auth.tokens import issue_access_token
from rewards.config import DEVELOPMENT_VALUES
from rewards.coupons.batches import create_batch
from rewards.db import Database
from rewards.redemption.service import redeem_coupon

NO_LIMIT = (10**9, 60)


def add_users(db: Database, count: int, prefix: int) -> list[tuple[int, str]]:
    """`count` users, each with a valid access token for the development JWT secret."""
    now = int(time.time())
    users = []
    with db.write() as tx:
        database = tx.scalar("SELECT instance FROM database_instance WHERE id = 1")
        for i in range(count):
            phone = f"+1{prefix:03d}{i:07d}"
            user_id = user_for_phone(tx, phone, now)["id"]
            users.append((user_id, issue_access_token(user_id, database, DEVELOPMENT_VALUES["JWT_SECRET"], 86400, now)))
    return users


def new_coupons(db: Database, count: int, points: int = 10) -> list[str]:
    tokens: list[str] = []
    with db.write() as tx:
        create_batch(
            tx,
            "bench",
            count=count,
            points=points,
            expires_at=None,
            label="bench",
            now=int(time.time()),
            on_chunk=lambda _b, chunk: tokens.extend(chunk),
        )
    return tokens


def give_ledger(db: Database, user_id: int, rows: int, points: int = 10) -> None:
    """Redeem `rows` fresh coupons for the user through the service's own redemption, a
    thousand to a transaction."""
    tokens = new_coupons(db, rows, points)
    now = int(time.time())
    for start in range(0, len(tokens), 1000):
        with db.write() as tx:
            for token in tokens[start : start + 1000]:
                redeem_coupon(tx, user_id, token, now, NO_LIMIT)


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path
