"""A batch's coupons as CSV, streamed row by row from one snapshot: the server's memory does
not grow with the batch."""

from __future__ import annotations

from collections.abc import Iterator

from .. import clock
from ..db import Transaction
from .lookup import coupon_status

HEADER = ("token", "points", "expires_at", "batch_id", "status", "redeemed_at", "user_id")

_ROWS = """
SELECT c.token, c.status, s.created_at, s.user_id
FROM coupons c LEFT JOIN scans s ON s.coupon_id = c.id AND s.reversed_at IS NULL
WHERE c.batch_id = ?
ORDER BY c.id
"""

# The same lines, written by PostgreSQL's COPY: the same status rule (void and redeemed stay,
# the rest is active or expired with its batch) and the same RFC 3339 times, checked equal to
# the lines below by the export test, which runs on both engines.
_LINES_POSTGRESQL = """
SELECT c.token, CAST(:points AS BIGINT), CAST(:expiry AS TEXT), CAST(:batch AS BIGINT),
       CASE WHEN c.status = 'active' THEN CAST(:unspent AS TEXT) ELSE c.status END,
       to_char(to_timestamp(s.created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       s.user_id
FROM coupons c LEFT JOIN scans s ON s.coupon_id = c.id AND s.reversed_at IS NULL
WHERE c.batch_id = :batch
ORDER BY c.id
"""


def coupon_rows(tx: Transaction, batch: dict, now: int) -> Iterator[str | bytes]:
    """CSV text, a thousand lines at a time, header first. `batch` is the batch's row
    (points, expires_at). Every field is a UUID, a number, a status word or an RFC 3339 time,
    none of which holds a comma, a quote or a line break, so lines are joined without a CSV
    writer's quoting: the export then runs at the pace of the query (bench/RESULTS.md)."""
    yield ",".join(HEADER) + "\n"
    expires_at, batch_id = batch["expires_at"], batch["id"]
    if tx.backend.server_csv:
        # PostgreSQL writes the lines itself: no row becomes a Python object on the way.
        params = {
            "batch": batch_id,
            "points": batch["points"],
            "expiry": clock.to_rfc3339(expires_at),  # NULL, not '', so COPY leaves the cell empty
            "unspent": coupon_status("active", expires_at, now),
        }
        yield from tx.copy_csv(_LINES_POSTGRESQL, params)
        return
    # Every coupon of a batch shares its points and expiry: the start of each line is the same.
    shared = f"{batch['points']},{clock.to_rfc3339(expires_at) or ''},{batch_id},"
    unspent = coupon_status("active", expires_at, now)
    to_rfc3339 = clock.to_rfc3339
    lines = []
    for token, status, redeemed_at, user_id in tx.stream(_ROWS, (batch_id,)):
        if redeemed_at is None:
            lines.append(f"{token},{shared}{unspent if status == 'active' else status},,\n")
        else:
            lines.append(f"{token},{shared}{status},{to_rfc3339(redeemed_at)},{user_id}\n")
        if len(lines) == 1000:
            yield "".join(lines)
            lines.clear()
    yield "".join(lines)
