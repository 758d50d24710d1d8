"""A batch's coupons as CSV, streamed row by row from one snapshot: the server's memory does
not grow with the batch."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from .. import clock
from ..db import Transaction
from .lookup import coupon_status

HEADER = ("token", "points", "expires_at", "batch_id", "status", "redeemed_at", "user_id")

_ROWS = """
SELECT c.token, c.status, s.created_at, s.user_id
FROM coupons c LEFT JOIN scans s ON s.coupon_id = c.id
WHERE c.batch_id = ?
ORDER BY c.id
"""


def coupon_rows(tx: Transaction, batch: dict, now: int) -> Iterator[str]:
    """CSV text, a chunk of lines at a time, header first. `batch` is the batch's row
    (points, expires_at)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    expires_at, points, batch_id = batch["expires_at"], batch["points"], batch["id"]
    expiry = clock.to_rfc3339(expires_at) or ""
    for n, (token, status, redeemed_at, user_id) in enumerate(tx.stream(_ROWS, (batch_id,)), start=1):
        writer.writerow(
            (
                token,
                points,
                expiry,
                batch_id,
                coupon_status(status, expires_at, now),
                clock.to_rfc3339(redeemed_at) or "",
                "" if user_id is None else user_id,
            )
        )
        if n % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
