"""Arrange bench data straight into the service's schema: users with tokens, ledgers of a
chosen length, coupons written to files for the wrk scripts."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from rewards.config import DEVELOPMENT_VALUES
from rewards.coupons import create_batch
from rewards.db import connect
from rewards.tokens import issue_access_token
from rewards.transactions import write_transaction


def add_users(conn: sqlite3.Connection, count: int, prefix: int) -> list[tuple[int, str]]:
    """`count` users, each with a valid access token for the development JWT secret."""
    now = int(time.time())
    users = []
    with write_transaction(conn):
        (database,) = conn.execute("SELECT instance FROM database_instance WHERE id = 1").fetchone()
        for i in range(count):
            phone = f"+1{prefix:03d}{i:07d}"
            user_id = conn.execute(
                "INSERT INTO users (phone, created_at) VALUES (?, ?) RETURNING id", (phone, now)
            ).fetchone()[0]
            users.append((user_id, issue_access_token(user_id, database, DEVELOPMENT_VALUES["JWT_SECRET"], 86400, now)))
    return users


def new_coupons(conn: sqlite3.Connection, count: int, points: int = 10) -> list[str]:
    tokens: list[str] = []
    create_batch(
        conn,
        count=count,
        points=points,
        expires_at=None,
        label="bench",
        now=int(time.time()),
        on_chunk=lambda _b, chunk: tokens.extend(chunk),
    )
    return tokens


def give_ledger(conn: sqlite3.Connection, user_id: int, rows: int, points: int = 10) -> None:
    """Redeem `rows` fresh coupons for the user in bulk, as if they had been scanned."""
    tokens = new_coupons(conn, rows, points)
    now = int(time.time())
    with write_transaction(conn):
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (token TEXT PRIMARY KEY)")
        conn.execute("DELETE FROM wanted")
        conn.executemany("INSERT INTO wanted VALUES (?)", ((t,) for t in tokens))
        conn.execute(
            "INSERT INTO scans (coupon_id, user_id, created_at) SELECT c.id, ?, ? FROM coupons c JOIN wanted w ON w.token = c.token",
            (user_id, now),
        )
        conn.execute("UPDATE coupons SET status = 'redeemed' WHERE token IN (SELECT token FROM wanted)")
        conn.execute(
            "INSERT INTO ledger_entries (user_id, kind, points, scan_id, created_at) "
            "SELECT ?, 'scan', ?, s.id, ? FROM scans s JOIN coupons c ON c.id = s.coupon_id JOIN wanted w ON w.token = c.token",
            (user_id, points, now),
        )
        conn.execute(
            "UPDATE users SET balance = balance + ?, scans = scans + ? WHERE id = ?", (rows * points, rows, user_id)
        )


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def open_database(path: Path) -> sqlite3.Connection:
    return connect(str(path))
