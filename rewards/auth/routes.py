"""POST /auth/otp and POST /auth/verify: phone login with one-time codes."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from .. import clock
from ..db import get_db
from ..exceptions import InvalidRequest
from ..http import validation
from .delivery import log_delivery, webhook_delivery
from .otp import OtpPolicy, confirm_otp, issue_otp, verify_otp
from .tokens import issue_access_token

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _policy() -> OtpPolicy:
    config = current_app.config
    return OtpPolicy(
        ttl_seconds=config["OTP_TTL_SECONDS"],
        max_attempts=config["OTP_MAX_ATTEMPTS"],
        send_limit=config["OTP_SEND_LIMIT"],
        send_window_seconds=config["OTP_SEND_WINDOW_SECONDS"],
        address_limit=config["AUTH_IP_RATE_LIMIT"],
    )


def _client_address() -> str:
    # ProxyFix (PROXY_COUNT) has already put the real client here when proxies are declared.
    return request.remote_addr or "unknown"


@bp.post("/otp")
def request_code():
    phone = validation.phone(validation.json_body())
    config = current_app.config
    key = current_app.extensions["rewards.otp_key"]
    webhook = config["OTP_DELIVERY"] == "webhook"
    policy = _policy()
    db = get_db()
    with db.write() as tx:
        code = issue_otp(tx, key, phone, policy, clock.now(), address=_client_address(), usable=not webhook)
    # Delivered outside the transaction: a slow SMS gateway must not hold the database.
    if webhook:
        webhook_delivery(config["OTP_WEBHOOK_URL"], config["OTP_WEBHOOK_TIMEOUT_SECONDS"])(phone, code)
        with db.write() as tx:
            confirm_otp(tx, key, phone, code)
    else:
        log_delivery(phone, code)
    body = {"status": "sent", "expires_in": policy.ttl_seconds}
    if config["OTP_DELIVERY"] == "response":
        body["otp"] = code
    return body


@bp.post("/verify")
def verify_code():
    body = validation.json_body()
    phone = validation.phone(body)
    code = validation.text(body, "otp", 16)
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        raise InvalidRequest("'otp' must be the 6-digit code as a string.")
    now = clock.now()
    key = current_app.extensions["rewards.otp_key"]
    with get_db().write() as tx:
        user, database = verify_otp(tx, key, phone, code, _policy(), now, address=_client_address())
    ttl = current_app.config["JWT_TTL_SECONDS"]
    return {
        "access_token": issue_access_token(user["id"], database, current_app.config["JWT_SECRET"], ttl, now),
        "token_type": "Bearer",
        "expires_in": ttl,
        "user": user,
    }
