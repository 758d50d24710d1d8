"""A coupon's QR code, drawn by segno (the field's small, dependency-free QR encoder): what a
phone camera reads is COUPON_URL_TEMPLATE with the token in it."""

from __future__ import annotations

import io

import segno

DEFAULT_SCALE = 4
MAX_SCALE = 40


def coupon_payload(template: str, token: str) -> str:
    """What the QR code encodes: the template with `{token}` replaced (only that: a URL's
    other braces stay as they are)."""
    return template.replace("{token}", token)


def qr_image(payload: str, kind: str, scale: int = DEFAULT_SCALE) -> bytes:
    """The QR code as `svg` or `png` bytes; `scale` is pixels (SVG units) per module. Error
    correction M: a printed coupon survives a scuff."""
    out = io.BytesIO()
    segno.make(payload, error="m", boost_error=False).save(out, kind=kind, scale=scale, border=4)
    return out.getvalue()
