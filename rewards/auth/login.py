"""Signing in with a one-time code, whoever asks: the JSON API (/auth/otp, /auth/verify) and the
sign-in page call these same two steps, so both have the same limits on the same counters."""

from __future__ import annotations

from flask import current_app, request

from .. import clock
from ..db import get_db
from .delivery import log_delivery, webhook_delivery
from .otp import OtpPolicy, confirm_otp, issue_otp, verify_otp


def policy() -> OtpPolicy:
    config = current_app.config
    return OtpPolicy(
        ttl_seconds=config["OTP_TTL_SECONDS"],
        max_attempts=config["OTP_MAX_ATTEMPTS"],
        send_limit=config["OTP_SEND_LIMIT"],
        send_window_seconds=config["OTP_SEND_WINDOW_SECONDS"],
        address_limit=config["AUTH_IP_RATE_LIMIT"],
    )


def client_address() -> str:
    # ProxyFix (PROXY_COUNT) has already put the real client here when proxies are declared.
    return request.remote_addr or "unknown"


def send_code(phone: str) -> str:
    """Make a fresh code for `phone` and deliver it by OTP_DELIVERY; return it (the JSON API
    shows it under OTP_DELIVERY=response)."""
    config = current_app.config
    key = current_app.extensions["rewards.otp_key"]
    webhook = config["OTP_DELIVERY"] == "webhook"
    db = get_db()
    with db.write() as tx:
        code = issue_otp(tx, key, phone, policy(), clock.now(), address=client_address(), usable=not webhook)
    # Delivered outside the transaction: a slow SMS gateway must not hold the database.
    if webhook:
        webhook_delivery(config["OTP_WEBHOOK_URL"], config["OTP_WEBHOOK_TIMEOUT_SECONDS"])(phone, code)
        with db.write() as tx:
            confirm_otp(tx, key, phone, code)
    else:
        log_delivery(phone, code)
    return code


def check_code(phone: str, code: str, now: int) -> tuple[dict[str, object], str]:
    """Spend the code: the phone's user (made on its first sign-in) and the database instance."""
    key = current_app.extensions["rewards.otp_key"]
    with get_db().write() as tx:
        return verify_otp(tx, key, phone, code, policy(), now, address=client_address())
