"""Time as the service stores it (whole Unix seconds, UTC) and as the API shows it (RFC 3339)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta, timezone

# RFC 3339's date-time: a full date, T, a full time with an optional fraction, Z or an offset;
# T and Z in either case (section 5.6). Digits are ASCII digits only.
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)


def now() -> int:
    return int(time.time())


# Formatting a time is most of what a list's entry costs (a wallet page shows ten, a CSV export
# a million): each day's date is formatted once and kept, the time of day comes from tables.
# A third of time.strftime's cost; the same text (tests/test_properties.py).
_DATES: dict[int, str] = {}  # day number since 1970 -> "YYYY-MM-DDT"
_KEPT_DATES = 4096
_MINUTES = [f"{hour:02d}:{minute:02d}:" for hour in range(24) for minute in range(60)]
_SECONDS = [f"{second:02d}Z" for second in range(60)]


def to_rfc3339(seconds: int | None) -> str | None:
    if seconds is None:
        return None
    day, rest = divmod(seconds, 86_400)
    date = _DATES.get(day)
    if date is None:
        if len(_DATES) >= _KEPT_DATES:
            _DATES.clear()  # rare, and cheaper than ordering them; each is formatted again
        date = _DATES[day] = time.strftime("%Y-%m-%dT", time.gmtime(day * 86_400))
    minute, second = divmod(rest, 60)
    return date + _MINUTES[minute] + _SECONDS[second]


def parse_rfc3339(text: str) -> int:
    """'2027-06-30T23:59:59Z' (or with an offset) -> Unix seconds; ValueError when it is not an
    RFC 3339 date-time, or when it falls outside the years 0001 to 9999 in UTC.

    datetime.fromisoformat is no judge of that: it also takes week dates (2099-W01-1), the
    basic format (20990101T000000Z) and a time zone that carries 9999-12-31 into year 10000,
    which then no longer formats as RFC 3339 anywhere it is shown or printed.
    """
    match = _RFC3339.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError("not an RFC 3339 date-time")
    year, month, day, hour, minute, second, offset_hours, offset_minutes = (
        int(part) if part else 0 for part in match.group(1, 2, 3, 4, 5, 6, 8, 9)
    )
    if offset_hours > 23 or offset_minutes > 59:
        raise ValueError("not a time zone offset")
    # RFC 3339 allows a leap second (:60); datetime does not, so it counts as the second after :59.
    leap = 1 if second == 60 else 0
    offset = timedelta(hours=offset_hours, minutes=offset_minutes)
    if match.group(7) == "-":
        offset = -offset
    local = datetime(year, month, day, hour, minute, second - leap, tzinfo=timezone(offset))
    # OverflowError when UTC falls before 0001 or after 9999 (datetime's own range).
    utc = local.astimezone(UTC) + timedelta(seconds=leap)
    return int(utc.timestamp())
