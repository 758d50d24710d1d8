"""POST /scan: redeem a coupon for the caller."""

from __future__ import annotations

from flask import Blueprint, current_app, g

from .. import clock
from ..db import get_db
from ..http import validation
from ..http.guards import require_user
from .service import redeem_coupon

bp = Blueprint("redemption", __name__)

MAX_DEVICE_ID = 100


@bp.post("/scan")
@require_user
def scan():
    body = validation.json_body()
    token = validation.coupon_token(body)
    device_id = validation.text(body, "device_id", MAX_DEVICE_ID, required=False)
    with get_db().write() as tx:
        redemption = redeem_coupon(
            tx, g.user["id"], token, clock.now(), current_app.config["SCAN_RATE_LIMIT"], device_id
        )
    return {
        "scan_id": redemption.scan_id,
        "token": redemption.token,
        "points": redemption.points,
        "balance": redemption.balance,
        "redeemed_at": clock.to_rfc3339(redemption.redeemed_at),
    }
