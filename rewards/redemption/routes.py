"""POST /scan: redeem a coupon for the caller. POST /scans/<id>/reverse: an operator takes a
scan back."""

from __future__ import annotations

from contextlib import nullcontext

from flask import Blueprint, current_app, g

from .. import clock, roles
from ..db import Transaction, get_db
from ..http import idempotent, validation
from ..http.guards import (
    bearer_before_refusals,
    bearer_claims,
    bearer_user,
    check_bearer_later,
    require_operator,
    unknown_bearer,
)
from .reversal import reverse_scan
from .service import Redemption, redeem_alone, redeem_coupon

bp = Blueprint("redemption", __name__)

MAX_DEVICE_ID = 100


@bp.post("/scan")
def scan():
    db = get_db()
    # On PostgreSQL the bearer's user is checked in the scan's own round trips (issue #17): in
    # the redemption's one call, and with an Idempotency-Key also beside the key's claim. On
    # SQLite a round trip costs nothing, and the check comes first as on every other route.
    in_one_call = db.backend.redeems_in_one_call
    claims = bearer_claims()
    if not in_one_call:
        bearer_user(claims)
    with bearer_before_refusals(claims) if in_one_call else nullcontext():
        body = validation.json_body()
        token = validation.coupon_token(body)
        device_id = validation.text(body, "device_id", MAX_DEVICE_ID, required=False)
        key = idempotent.request_key()
    user_id, rate_limit = claims.user_id, current_app.config["SCAN_RATE_LIMIT"]
    instance = claims.database if in_one_call else None
    if in_one_call and key is None:
        # Nothing to claim beside it: the redemption is one statement, its own transaction.
        redemption = redeem_alone(db, user_id, token, clock.now(), rate_limit, device_id, unknown_bearer(), instance)
        return _answer(redemption), 200

    def redeem(tx: Transaction) -> tuple[dict, int]:
        redemption = redeem_coupon(
            tx, user_id, token, clock.now(), rate_limit, device_id, unknown_user=unknown_bearer(), instance=instance
        )
        return _answer(redemption), 200

    def check_bearer(tx: Transaction) -> None:
        check_bearer_later(tx, claims)

    # The redemption's SQL reads each result only where it needs it (rewards/ledger/service.py).
    return idempotent.respond(
        f"user:{user_id}", body, redeem, key=key, pipelined=True, before_claim=check_bearer if in_one_call else None
    )


def _answer(redemption: Redemption) -> dict:
    return {
        "scan_id": redemption.scan_id,
        "token": redemption.token,
        "points": redemption.points,
        "balance": redemption.balance,
        "redeemed_at": clock.to_rfc3339(redemption.redeemed_at),
    }


@bp.post("/scans/<scan_ref>/reverse")
@require_operator(roles.FINANCE_ACTIONS)
def reverse(scan_ref: str):
    scan_id = validation.id_in_path(scan_ref, "scan")
    body = validation.json_body()
    reason = validation.reason(body)
    restore = validation.boolean(body, "restore", default=False)
    with get_db().write() as tx:
        return reverse_scan(tx, g.operator, scan_id, reason, restore, clock.now())
