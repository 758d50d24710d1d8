"""What a customer types or a camera reads: a coupon's web address or its bare token."""

from __future__ import annotations

import re

from ..http.validation import UUID4

# A token anywhere in what was read, as the last path segment of an address (/c/<token>, or a
# programme's own COUPON_URL_TEMPLATE) or alone.
_TOKEN = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}")


def token_from_code(text: str) -> str | None:
    """The coupon token in `text`, in its stored form, or None."""
    text = text.strip()
    if not text or len(text) > 2000:
        return None
    found = _TOKEN.findall(text)
    if len(found) != 1:
        return None
    token = found[0].lower()
    return token if UUID4.fullmatch(token) else None
