"""One-time login codes: issue, deliver, verify.

A code is 6 digits from `secrets`, stored only as an HMAC keyed by a key derived from
JWT_SECRET, so a copy of the database file does not reveal live codes. One live code per
phone; a new one replaces the old. A code works once, before it expires, and is burned after
OTP_MAX_ATTEMPTS wrong guesses.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from . import ratelimit
from .errors import Problem, RateLimited
from .transactions import write_transaction


class InvalidOtp(Problem):
    status, code = 401, "invalid_otp"


class TooManyAttempts(Problem):
    status, code = 429, "too_many_attempts"


@dataclass(frozen=True)
class OtpPolicy:
    ttl_seconds: int
    max_attempts: int
    send_limit: int
    send_window_seconds: int
    # AUTH_IP_RATE_LIMIT: /auth/otp and /auth/verify calls per client address, counted together
    # against SMS pumping and guessing across many phones.
    address_limit: tuple[int, int]


def _count_address(conn: sqlite3.Connection, address: str, policy: OtpPolicy, now: int) -> None:
    """Count one call from `address`; RateLimited past the limit."""
    limit, window = policy.address_limit
    verdict = ratelimit.hit(conn, f"auth-ip:{address}", limit, window, now)
    if not verdict.allowed:
        raise RateLimited("Too many login calls from this address; wait before trying again.", verdict.retry_after)


def otp_key(jwt_secret: str) -> bytes:
    """The HMAC key for codes, separate from the token-signing use of the same secret."""
    return hmac.new(jwt_secret.encode(), b"rewards one-time codes", hashlib.sha256).digest()


def _code_hash(key: bytes, phone: str, code: str) -> str:
    return hmac.new(key, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def issue_otp(
    conn: sqlite3.Connection,
    key: bytes,
    phone: str,
    policy: OtpPolicy,
    now: int,
    deliver: Callable[[str, str], None],
    *,
    confirm_delivery: bool,
    address: str,
) -> str:
    """Store a fresh code for `phone` (replacing any earlier one), deliver it, return it.

    With `confirm_delivery` the code is stored unusable and only switched on once `deliver`
    returned, outside the transaction: a slow SMS gateway must not hold the write lock, and a
    code that never reached the phone must never work.
    """
    code = f"{secrets.randbelow(1_000_000):06d}"
    with write_transaction(conn, commit_on=(RateLimited,)):
        _count_address(conn, address, policy, now)
        verdict = ratelimit.hit(conn, f"otp:{phone}", policy.send_limit, policy.send_window_seconds, now)
        if not verdict.allowed:
            raise RateLimited("Too many codes requested for this phone; wait before asking again.", verdict.retry_after)
        conn.execute(
            """
            INSERT INTO otp_codes (phone, code_hash, expires_at, attempts, delivered)
            VALUES (?, ?, ?, 0, ?)
            ON CONFLICT (phone) DO UPDATE SET
                code_hash = excluded.code_hash, expires_at = excluded.expires_at,
                attempts = 0, delivered = excluded.delivered
            """,
            (phone, _code_hash(key, phone, code), now + policy.ttl_seconds, 0 if confirm_delivery else 1),
        )
    deliver(phone, code)
    if confirm_delivery:
        with write_transaction(conn):
            # Only this code: a newer request for the same phone may have replaced it meanwhile.
            conn.execute(
                "UPDATE otp_codes SET delivered = 1 WHERE phone = ? AND code_hash = ?",
                (phone, _code_hash(key, phone, code)),
            )
    return code


def verify_otp(
    conn: sqlite3.Connection, key: bytes, phone: str, code: str, policy: OtpPolicy, now: int, *, address: str
) -> tuple[dict[str, object], str]:
    """Spend the code and return the phone's user, created on its first login, and the
    database instance its token is to name."""
    with write_transaction(conn, commit_on=(InvalidOtp, TooManyAttempts, RateLimited)):
        _count_address(conn, address, policy, now)
        row = conn.execute(
            "SELECT code_hash, expires_at, attempts, delivered FROM otp_codes WHERE phone = ?", (phone,)
        ).fetchone()
        if row is None or not row["delivered"] or row["expires_at"] <= now:
            raise InvalidOtp("The code is wrong, expired or already used; request a new one.")
        if row["attempts"] >= policy.max_attempts:
            raise TooManyAttempts("Too many wrong codes; this one is burned, request a new one.")
        if not hmac.compare_digest(row["code_hash"], _code_hash(key, phone, code)):
            attempts = row["attempts"] + 1
            conn.execute("UPDATE otp_codes SET attempts = ? WHERE phone = ?", (attempts, phone))
            if attempts >= policy.max_attempts:
                raise TooManyAttempts("Too many wrong codes; this one is burned, request a new one.")
            raise InvalidOtp("The code is wrong, expired or already used; request a new one.")
        conn.execute("DELETE FROM otp_codes WHERE phone = ?", (phone,))
        user = conn.execute(
            """
            INSERT INTO users (phone, created_at) VALUES (?, ?)
            ON CONFLICT (phone) DO UPDATE SET phone = excluded.phone
            RETURNING id, phone
            """,
            (phone, now),
        ).fetchone()
        (instance,) = conn.execute("SELECT instance FROM database_instance WHERE id = 1").fetchone()
    return dict(user), instance
