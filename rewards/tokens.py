"""Access tokens: HS256 JWTs whose `sub` is the user id."""

from __future__ import annotations

import re

import jwt

ALGORITHM = "HS256"
_USER_ID = re.compile(r"^[1-9][0-9]{0,18}$")


class InvalidToken(Exception):
    """Forged, expired, malformed or otherwise unusable; the reason is for logs, not clients."""


def issue_access_token(user_id: int, secret: str, ttl_seconds: int, now: int) -> str:
    claims = {"sub": str(user_id), "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_access_token(token: str, secret: str) -> int:
    """The user id a valid token names. The algorithm is pinned, so `none` and RS256/HS256
    confusion are refused, and exp, iat and sub must all be present."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "sub"]},
        )
    except jwt.PyJWTError as error:
        raise InvalidToken(type(error).__name__) from None
    subject = claims["sub"]
    if not isinstance(subject, str) or not _USER_ID.match(subject) or int(subject) > 2**63 - 1:
        raise InvalidToken("sub is not a user id")
    return int(subject)
