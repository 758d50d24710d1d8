"""Access tokens: HS256 JWTs whose `sub` is the user id."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import jwt

from ..db import MAX_ID

ALGORITHM = "HS256"
_USER_ID = re.compile(r"[1-9][0-9]{0,18}")
# Tokens already verified, each until its exp: a phone sends the same token with every scan,
# and PyJWT's decode was a sixth of a scan's CPU (bench/RESULTS.md, issue #17). Keyed by the
# whole token and the secret, so only the exact bytes that passed every check, under the same
# secret, are taken from here; bounded, so a flood of tokens cannot grow it.
_VERIFIED: dict[tuple[str, str], tuple[AccessClaims, int]] = {}
_VERIFIED_MAX = 4096


class InvalidToken(Exception):
    """Forged, expired, malformed or otherwise unusable; the reason is for logs, not clients."""


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    database: str  # the database instance the token was issued for


def issue_access_token(user_id: int, database: str, secret: str, ttl_seconds: int, now: int) -> str:
    # `db` names the database instance: a user id alone would open the wallet of whoever gets
    # the same id after the database is reset or replaced.
    claims = {"sub": str(user_id), "db": database, "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_access_token(token: str, secret: str) -> AccessClaims:
    """The claims of a valid token. The algorithm is pinned, so `none` and RS256/HS256
    confusion are refused, and exp, iat, sub and db must all be present."""
    kept = _VERIFIED.get((token, secret))
    # PyJWT's own rule: a token is expired once exp <= now.
    if kept is not None and time.time() < kept[1]:
        return kept[0]
    claims = _verify(token, secret)
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()  # rare, and cheaper than ordering entries; they are verified again
    _VERIFIED[(token, secret)] = claims
    return claims[0]


def _verify(token: str, secret: str) -> tuple[AccessClaims, int]:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "sub", "db"]},
        )
    except jwt.PyJWTError as error:
        raise InvalidToken(type(error).__name__) from None
    subject, database = claims["sub"], claims["db"]
    if not isinstance(subject, str) or not _USER_ID.fullmatch(subject) or int(subject) > MAX_ID:
        raise InvalidToken("sub is not a user id")
    if not isinstance(database, str) or len(database) > 64:
        raise InvalidToken("db is not a database instance")
    return AccessClaims(int(subject), database), int(claims["exp"])
