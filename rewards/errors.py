"""Every error the service answers, as an RFC 9457 problem with the contract's `code`.

Services raise `Problem` subclasses (CouponAlreadyRedeemed, InvalidOtp, ...) that know their
status and code; the handlers here render them, Werkzeug's HTTP errors and database outages
the same way. Nothing from an exception's text reaches a client: details are ours, written for
people, so no SQL, path, secret or traceback can leak.
"""

from __future__ import annotations

import logging
import sqlite3

from flask import Flask, Response, current_app
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from .db import DatabaseUnavailable, is_unavailable

log = logging.getLogger(__name__)

PROBLEM_MIMETYPE = "application/problem+json"

# Retry-After for 503s: long enough to let a burst of writers drain, short enough for a phone.
RETRY_AFTER_UNAVAILABLE = 1


# Every code the service answers, with its status: the contract's error table. openapi.yaml's
# Problem.code lists exactly these (a test holds the two together).
PROBLEM_CODES: dict[str, int] = {
    "invalid_request": 400,
    "unauthorized": 401,
    "invalid_otp": 401,
    "forbidden": 403,
    "not_found": 404,
    "coupon_not_found": 404,
    "user_not_found": 404,
    "method_not_allowed": 405,
    "coupon_already_redeemed": 409,
    "coupon_expired": 410,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "too_many_attempts": 429,
    "rate_limited": 429,
    "internal_error": 500,
    "otp_delivery_failed": 502,
    "service_unavailable": 503,
}


class Problem(Exception):
    """An error answered to the client: status, contract code, a detail for people."""

    status = 400
    code = "invalid_request"

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if PROBLEM_CODES.get(cls.code) != cls.status:
            raise TypeError(f"{cls.__name__}: {cls.status} {cls.code} is not in PROBLEM_CODES")

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}


class InvalidRequest(Problem):
    status, code = 400, "invalid_request"


class Unauthorized(Problem):
    status, code = 401, "unauthorized"


class Forbidden(Problem):
    status, code = 403, "forbidden"


class RateLimited(Problem):
    status, code = 429, "rate_limited"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})


class ServiceUnavailable(Problem):
    status, code = 503, "service_unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE)})


# Werkzeug's errors, by status, in the contract's words.
_HTTP_CODES = {
    400: ("invalid_request", "The request could not be understood."),
    404: ("not_found", "There is no such route."),
    405: ("method_not_allowed", "This route does not allow that method."),
    413: ("payload_too_large", "The request body is larger than 1 MiB."),
    415: ("unsupported_media_type", "The request body must be application/json."),
    500: ("internal_error", "Something went wrong on our side; it has been logged."),
}


def problem_response(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> Response:
    body = {
        "type": "about:blank",
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "code": code,
        "detail": detail,
    }
    response = current_app.json.response(body)
    response.status_code = status
    response.mimetype = PROBLEM_MIMETYPE
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register_error_handlers(app: Flask) -> None:
    """On the app, not a blueprint: routing 404s and 405s never reach a blueprint's handlers."""
    app.register_error_handler(Problem, _render_problem)
    app.register_error_handler(HTTPException, _render_http_exception)
    app.register_error_handler(DatabaseUnavailable, _render_database_unavailable)
    app.register_error_handler(sqlite3.Error, _render_database_error)


def _render_problem(error: Problem) -> Response:
    return problem_response(error.status, error.code, error.detail, error.headers)


def _render_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    code, detail = _HTTP_CODES.get(status, ("internal_error" if status >= 500 else "invalid_request", error.name))
    # get_response() carries the headers that matter (Allow on 405); its HTML body does not.
    headers = {
        k: v for k, v in error.get_response().headers.items() if k.lower() not in ("content-type", "content-length")
    }
    return problem_response(status, code, detail, headers)


def _render_database_unavailable(error: DatabaseUnavailable) -> Response:
    log.warning("database unavailable: %s", error)
    return _render_problem(ServiceUnavailable("The database is unavailable right now; try again shortly."))


def _render_database_error(error: sqlite3.Error) -> Response:
    if is_unavailable(error):
        log.warning("database unavailable: %s", getattr(error, "sqlite_errorname", type(error).__name__))
        return _render_problem(ServiceUnavailable("The database is busy or unavailable; try again shortly."))
    # A bug, not an outage: let Flask log the traceback and answer the 500 problem.
    raise error
