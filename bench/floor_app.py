"""The service with two more routes, for `bench/under_load.py --floors` (issue #17): a scan's
request without the scan. gunicorn serves it as `bench.floor_app:app`, never the service.

- POST /bench/scan-read: what POST /scan does before its write transaction (the bearer's token
  and user, the body and its token checked) and an answer of a scan's shape.
- POST /bench/scan-committed: the same with the least any redemption writes, one new row in one
  write transaction, committed as durably as every write (synchronous=FULL).

Under the same load as /scan, they say what a scan could cost at best on this box with this
stack: a scan writes a dozen pages where these write none or one."""

from __future__ import annotations

import secrets
from typing import Any

from rewards import clock, create_app
from rewards.db import get_db
from rewards.http import idempotent, validation
from rewards.http.guards import bearer_claims, bearer_user
from rewards.redemption.routes import MAX_DEVICE_ID

_ONE_ROW = "INSERT INTO rate_limits (key, window_start, hits) VALUES (?, 0, 1)"


def _scan_request() -> str:
    """rewards/redemption/routes.py's scan() up to its write, on SQLite."""
    bearer_user(bearer_claims())
    body = validation.json_body()
    token = validation.coupon_token(body)
    validation.text(body, "device_id", MAX_DEVICE_ID, required=False)
    idempotent.request_key()
    return token


def _answer(token: str) -> dict[str, Any]:
    return {"scan_id": 1, "token": token, "points": 10, "balance": 100, "redeemed_at": clock.to_rfc3339(clock.now())}


def scan_read() -> dict[str, Any]:
    return _answer(_scan_request())


def scan_committed() -> dict[str, Any]:
    token = _scan_request()
    with get_db().write() as tx:
        tx.execute(_ONE_ROW, (f"bench-floor:{secrets.token_hex(8)}",))
    return _answer(token)


app = create_app()
app.add_url_rule("/bench/scan-read", "bench_scan_read", scan_read, methods=["POST"])
app.add_url_rule("/bench/scan-committed", "bench_scan_committed", scan_committed, methods=["POST"])
