"""Time as the service stores it (whole Unix seconds, UTC) and as the API shows it (RFC 3339)."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> int:
    return int(time.time())


def to_rfc3339(seconds: int | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> int:
    """'2027-06-30T23:59:59Z' (or with an offset) -> Unix seconds; ValueError when it is not
    an RFC 3339 date-time with a time zone."""
    if not isinstance(text, str) or len(text) > 40 or "T" not in text.upper():
        raise ValueError("not an RFC 3339 date-time")
    parsed = datetime.fromisoformat(text.strip().upper().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("an RFC 3339 date-time needs a time zone, e.g. Z")
    return int(parsed.timestamp())
