"""POST /auth/otp and POST /auth/verify: phone login with one-time codes."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from . import clock, validation
from .db import get_db
from .errors import InvalidRequest
from .otp import OtpPolicy, issue_otp, verify_otp
from .otp_delivery import log_delivery, webhook_delivery
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


@bp.post("/otp")
def request_code():
    phone = validation.phone(validation.json_body())
    config = current_app.config
    delivery = config["OTP_DELIVERY"]
    if delivery == "webhook":
        deliver = webhook_delivery(config["OTP_WEBHOOK_URL"], config["OTP_WEBHOOK_TIMEOUT_SECONDS"])
    else:
        deliver = log_delivery
    policy = _policy()
    code = issue_otp(
        get_db(),
        current_app.extensions["rewards.otp_key"],
        phone,
        policy,
        clock.now(),
        deliver,
        confirm_delivery=delivery == "webhook",
        address=request.remote_addr or "unknown",
    )
    body = {"status": "sent", "expires_in": policy.ttl_seconds}
    if delivery == "response":
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
    user, database = verify_otp(
        get_db(),
        current_app.extensions["rewards.otp_key"],
        phone,
        code,
        _policy(),
        now,
        address=request.remote_addr or "unknown",
    )
    ttl = current_app.config["JWT_TTL_SECONDS"]
    return {
        "access_token": issue_access_token(user["id"], database, current_app.config["JWT_SECRET"], ttl, now),
        "token_type": "Bearer",
        "expires_in": ttl,
        "user": user,
    }
