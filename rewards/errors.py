"""Every error the service answers, as an RFC 9457 problem with the contract's `code`.

One table maps each refusal to its status and code; one function builds the problem body, used
by the Flask handlers here and by the gunicorn worker for requests it refuses before the app
sees them. Nothing from an exception's text reaches a client unless we wrote it for people.
"""

from __future__ import annotations

import json
import logging

from flask import Flask, Response
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from . import exceptions as x
from .web import is_page_request
from .web.errorpages import error_page

log = logging.getLogger(__name__)

PROBLEM_MIMETYPE = "application/problem+json"

# Each refusal -> (status, code). openapi.yaml's Problem.code and the README's table list
# exactly these codes (tests hold them together).
REFUSALS: dict[type[x.Refusal], tuple[int, str]] = {
    x.InvalidRequest: (400, "invalid_request"),
    x.Unauthorized: (401, "unauthorized"),
    x.InvalidOtp: (401, "invalid_otp"),
    x.Forbidden: (403, "forbidden"),
    x.CouponNotFound: (404, "coupon_not_found"),
    x.UserNotFound: (404, "user_not_found"),
    x.BatchNotFound: (404, "batch_not_found"),
    x.ScanNotFound: (404, "scan_not_found"),
    x.PayoutNotFound: (404, "payout_not_found"),
    x.CouponAlreadyRedeemed: (409, "coupon_already_redeemed"),
    x.ScanAlreadyReversed: (409, "scan_already_reversed"),
    x.InsufficientPoints: (409, "insufficient_points"),
    x.PayoutNotPending: (409, "payout_not_pending"),
    x.CouponExpired: (410, "coupon_expired"),
    x.CouponVoid: (410, "coupon_void"),
    x.IdempotencyKeyReused: (422, "idempotency_key_reused"),
    x.UnsupportedMediaType: (415, "unsupported_media_type"),
    x.TooManyAttempts: (429, "too_many_attempts"),
    x.RateLimited: (429, "rate_limited"),
    x.OtpDeliveryFailed: (502, "otp_delivery_failed"),
    x.DatabaseUnavailable: (503, "service_unavailable"),
}

# Werkzeug's own errors (routing, body size), by status, in the contract's words.
HTTP_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request", "The request could not be understood."),
    404: ("not_found", "There is no such route."),
    405: ("method_not_allowed", "This route does not allow that method."),
    413: ("payload_too_large", "The request body is larger than 1 MiB."),
    415: ("unsupported_media_type", "The request body must be application/json."),
    500: ("internal_error", "Something went wrong on our side; it has been logged."),
}

PROBLEM_CODES: dict[str, int] = {code: status for status, code in REFUSALS.values()} | {
    code: status for status, (code, _) in HTTP_ERRORS.items()
}


def problem_body(status: int, code: str, detail: str) -> dict[str, object]:
    return {
        "type": "about:blank",
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "code": code,
        "detail": detail,
    }


def problem_bytes(status: int, code: str, detail: str) -> bytes:
    """The body as bytes, for writers outside Flask (the gunicorn worker)."""
    return json.dumps(problem_body(status, code, detail), separators=(",", ":")).encode()


def problem_response(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> Response:
    response = Response(problem_bytes(status, code, detail), status=status, mimetype=PROBLEM_MIMETYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def status_and_code(refusal: x.Refusal) -> tuple[int, str]:
    for kind in type(refusal).__mro__:
        if kind in REFUSALS:
            return REFUSALS[kind]
    raise LookupError(f"{type(refusal).__name__} has no status in REFUSALS")


def refusal_for_code(code: str, detail: str) -> x.Refusal:
    """The refusal a kept answer's `code` stands for (an idempotent replay shown as a page)."""
    for kind, (_status, known) in REFUSALS.items():
        if known == code:
            return kind(detail)
    return x.Refusal(detail)


def register_error_handlers(app: Flask) -> None:
    """On the app, not a blueprint: routing 404s and 405s never reach a blueprint's handlers."""
    app.register_error_handler(x.Refusal, _render_refusal)
    app.register_error_handler(HTTPException, _render_http_exception)


def _render_refusal(refusal: x.Refusal) -> Response:
    if isinstance(refusal, x.DatabaseUnavailable):
        log.warning("database unavailable: %s", refusal.reason)
    status, code = status_and_code(refusal)
    headers = dict(refusal.headers)
    if refusal.retry_after is not None:
        headers["Retry-After"] = str(max(1, refusal.retry_after))
    if is_page_request():
        headers.pop("WWW-Authenticate", None)
        return error_page(status, headers)
    return problem_response(status, code, refusal.detail, headers)


def _render_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    code, detail = HTTP_ERRORS.get(status, ("internal_error" if status >= 500 else "invalid_request", error.name))
    # get_response() carries the headers that matter (Allow on 405); its HTML body does not.
    headers = {
        k: v for k, v in error.get_response().headers.items() if k.lower() not in ("content-type", "content-length")
    }
    if is_page_request():
        return error_page(status, headers, form_expired=isinstance(error, CSRFError))
    return problem_response(status, code, detail, headers)
