"""One-time login codes: issue and verify, inside the caller's transaction.

A code is 6 digits from `secrets`, stored only as an HMAC keyed by a key derived from
JWT_SECRET, so a copy of the database does not reveal live codes. One live code per phone; a
new one replaces the old. A code works once, before it expires, and is burned after
OTP_MAX_ATTEMPTS wrong guesses.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from .. import ratelimit, stats
from ..db import Transaction
from ..exceptions import InvalidOtp, TooManyAttempts

_WRONG = "The code is wrong, expired or already used; request a new one."
_BURNED = "Too many wrong codes; this one is burned, request a new one."
_ADDRESS_LIMITED = "Too many login calls from this address; wait."


@dataclass(frozen=True)
class OtpPolicy:
    ttl_seconds: int
    max_attempts: int
    send_limit: int
    send_window_seconds: int
    # AUTH_IP_RATE_LIMIT: /auth/otp and /auth/verify calls per client address, counted together
    # against SMS pumping and guessing across many phones.
    address_limit: tuple[int, int]


# The database instance comes with the user, in the same statement: a token names both, and
# reading the instance on its own was one statement more per sign-in (issue #17).
_NEW_USER = """
INSERT INTO users (phone, created_at) VALUES (?, ?) ON CONFLICT (phone) DO NOTHING
RETURNING id, phone, (SELECT instance FROM database_instance WHERE id = 1) AS instance
"""
_KNOWN_USER = "SELECT u.id, u.phone, d.instance FROM users u JOIN database_instance d ON d.id = 1 WHERE u.phone = ?"


def user_for_phone(tx: Transaction, phone: str, now: int) -> dict[str, Any]:
    """The phone's user (id, phone, and the database `instance` its token is to name), made on
    its first login (and counted for GET /stats)."""
    user = tx.one(_NEW_USER, (phone, now))
    if user is None:
        return tx.one(_KNOWN_USER, (phone,))
    stats.add(tx, stats.USERS, 1)
    return user


def otp_key(jwt_secret: str) -> bytes:
    """The HMAC key for codes, separate from the token-signing use of the same secret."""
    return hmac.new(jwt_secret.encode(), b"rewards one-time codes", hashlib.sha256).digest()


def _code_hash(key: bytes, phone: str, code: str) -> str:
    return hmac.new(key, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def issue_otp(
    tx: Transaction, key: bytes, phone: str, policy: OtpPolicy, now: int, *, address: str, usable: bool
) -> str:
    """Store a fresh code for `phone`, replacing any earlier one, and return it. A code stored
    not `usable` works only after confirm_otp(): a code that never reached the phone (a
    failed webhook) must never work."""
    # The address first: a call refused for its address is not counted against the phone.
    ratelimit.count_in_turn(
        tx,
        [
            (f"auth-ip:{address}", policy.address_limit, _ADDRESS_LIMITED),
            (f"otp:{phone}", (policy.send_limit, policy.send_window_seconds), "Too many codes for this phone; wait."),
        ],
        now,
    )
    code = f"{secrets.randbelow(1_000_000):06d}"
    tx.execute(
        """
        INSERT INTO otp_codes (phone, code_hash, expires_at, attempts, delivered)
        VALUES (?, ?, ?, 0, ?)
        ON CONFLICT (phone) DO UPDATE SET
            code_hash = excluded.code_hash, expires_at = excluded.expires_at,
            attempts = 0, delivered = excluded.delivered
        """,
        (phone, _code_hash(key, phone, code), now + policy.ttl_seconds, 1 if usable else 0),
    )
    return code


def confirm_otp(tx: Transaction, key: bytes, phone: str, code: str) -> None:
    """The gateway took the code: it may be used now. Only this code: a newer request for the
    same phone may have replaced it meanwhile."""
    tx.execute(
        "UPDATE otp_codes SET delivered = 1 WHERE phone = ? AND code_hash = ?", (phone, _code_hash(key, phone, code))
    )


def verify_otp(
    tx: Transaction, key: bytes, phone: str, code: str, policy: OtpPolicy, now: int, *, address: str
) -> tuple[dict[str, object], str]:
    """Spend the code; return the phone's user (created on its first login) and the database
    instance its token is to name."""
    ratelimit.count(tx, f"auth-ip:{address}", policy.address_limit, now, _ADDRESS_LIMITED)
    # FOR UPDATE: twenty verifies of one code must check and spend it one after another.
    row = tx.one(
        "SELECT code_hash, expires_at, attempts, delivered FROM otp_codes WHERE phone = ? FOR UPDATE", (phone,)
    )
    if row is None or not row["delivered"] or row["expires_at"] <= now:
        raise InvalidOtp(_WRONG)
    if row["attempts"] >= policy.max_attempts:
        raise TooManyAttempts(_BURNED)
    if not hmac.compare_digest(row["code_hash"], _code_hash(key, phone, code)):
        attempts = row["attempts"] + 1
        with tx.kept_when_refused():  # the wrong guess counts
            tx.execute("UPDATE otp_codes SET attempts = ? WHERE phone = ?", (attempts, phone))
        raise TooManyAttempts(_BURNED) if attempts >= policy.max_attempts else InvalidOtp(_WRONG)
    tx.execute("DELETE FROM otp_codes WHERE phone = ?", (phone,))
    user = user_for_phone(tx, phone, now)
    return {"id": user["id"], "phone": user["phone"]}, user["instance"]
