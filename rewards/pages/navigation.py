"""Where a page may send the browser next: only a path of this service. An open redirect would
lend the programme's name to any phishing page that links through it."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

HOME = "/me"
SIGN_IN = "/sign-in"


def sign_in_then(next_path: str) -> str:
    """The sign-in page that comes back to `next_path` (built without url_for: the coupon page
    a phone opens links it, and its cost is measured against GET /version's)."""
    return f"{SIGN_IN}?next={quote(next_path, safe='/')}"


def safe_next(value: str | None) -> str:
    """`value` when it is a local path (`/c/...`, `/me?x=1`), else the wallet."""
    if not value or len(value) > 2000 or not value.startswith("/"):
        return HOME
    # //host and /\host are read by browsers as another host; control characters and
    # backslashes have no place in our own paths.
    if value.startswith(("//", "/\\")) or any(ch in value for ch in "\\\r\n\t") or not value.isprintable():
        return HOME
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return HOME
    return value
