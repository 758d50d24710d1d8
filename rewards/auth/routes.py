"""POST /auth/otp and POST /auth/verify: phone login with one-time codes."""

from __future__ import annotations

from flask import Blueprint, current_app

from .. import clock
from ..exceptions import InvalidRequest
from ..http import validation
from .login import check_code, send_code
from .tokens import issue_access_token

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.post("/otp")
def request_code():
    phone = validation.phone(validation.json_body())
    code = send_code(phone)
    body = {"status": "sent", "expires_in": current_app.config["OTP_TTL_SECONDS"]}
    if current_app.config["OTP_DELIVERY"] == "response":
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
    user, database = check_code(phone, code, now)
    ttl = current_app.config["JWT_TTL_SECONDS"]
    return {
        "access_token": issue_access_token(user["id"], database, current_app.config["JWT_SECRET"], ttl, now),
        "token_type": "Bearer",
        "expires_in": ttl,
        "user": user,
    }
