"""Small, explicit checks for request bodies and query strings. Each failure is a 400
problem whose detail names the field, so a client knows what to fix."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import request

from .. import paging
from ..clock import now, parse_rfc3339
from ..db import MAX_ID
from ..exceptions import InvalidRequest, UnsupportedMediaType

# Matched with fullmatch(), never match(): `$` also matches before a final "\n", and
# "+15550000001\n" would then be a second user beside "+15550000001".
PHONE = re.compile(r"\+[1-9][0-9]{7,14}")
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")

_MISSING = object()


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 415/400 problem saying why there is none."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("Send the body as JSON with Content-Type: application/json.")
    raw = request.get_data(cache=False)  # 413 over the limit, a chunked body too (http/bodies.py)
    try:
        body = json.loads(raw, parse_constant=_reject_constant, parse_float=_number)
    except (ValueError, RecursionError):
        raise InvalidRequest("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object.")
    return body


def integer(body: dict[str, Any], name: str, low: int, high: int, default: Any = _MISSING) -> int:
    value = body.get(name, _MISSING)
    if value is _MISSING:
        if default is _MISSING:
            raise InvalidRequest(f"'{name}' is required.")
        return default
    # bool is an int to Python, never to a client. (10.0 arrives as 10: json_body's _number.)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidRequest(f"'{name}' must be a whole number from {low:,} to {high:,}.")
    return value


def boolean(body: dict[str, Any], name: str, *, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise InvalidRequest(f"'{name}' must be true or false.")
    return value


def text(body: dict[str, Any], name: str, max_length: int, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidRequest(f"'{name}' is required.")
        return None
    if not isinstance(value, str) or len(value) > max_length:
        raise InvalidRequest(f"'{name}' must be a string of at most {max_length} characters.")
    if not storable(value):
        raise InvalidRequest(f"'{name}' holds a NUL character or an unpaired surrogate (such as \\ud800): not text.")
    return value


def storable(value: str) -> bool:
    """False for a str holding a lone surrogate (JSON's \\ud800 escape decodes to one, and no
    database can store it as UTF-8) or a NUL character (PostgreSQL's text cannot hold one)."""
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def phone(body: dict[str, Any], name: str = "phone") -> str:
    value = text(body, name, 32)
    if not PHONE.fullmatch(value):
        raise InvalidRequest(f"'{name}' must be an E.164 number: + then 8 to 15 digits, e.g. +15551234567.")
    return value


def coupon_token(body: dict[str, Any], name: str = "token") -> str:
    token = _normal_token(text(body, name, 100))
    if token is None:
        raise InvalidRequest(f"'{name}' must be a coupon token: a UUID version 4.")
    return token


def token_in_path(value: str) -> str:
    token = _normal_token(value)
    if token is None:
        raise InvalidRequest("The coupon token in the path must be a UUID version 4.")
    return token


def _normal_token(value: str) -> str | None:
    """The token in its stored form, or None: matched case-insensitively, and surrounding
    ASCII white space ignored (what a scanner or a paste adds, and what openapi.yaml can state)."""
    token = value.strip(" \t\r\n").lower()
    return token if UUID4.fullmatch(token) else None


def id_in_path(value: str, what: str) -> int:
    """A positive 64-bit id from the path, or a 400 naming it (negative, huge, not a number)."""
    if not (value.isascii() and value.isdigit() and len(value) <= 19 and 1 <= int(value) <= MAX_ID):
        raise InvalidRequest(f"The {what} id in the path must be a whole number from 1 to {MAX_ID}.")
    return int(value)


def reason(body: dict[str, Any], name: str = "reason", max_length: int = 500) -> str:
    """Why an operator does what they do: 1 to 500 characters."""
    value = text(body, name, max_length)
    if not value:
        raise InvalidRequest(f"'{name}' must say why, in 1 to {max_length} characters.")
    return value


def page_params() -> tuple[int, int | None]:
    """`limit` (1 to 100, default 20) and `before` (an id) of a newest-first list."""
    if not request.query_string:
        # The usual first page: no query string to parse (a tenth of a wallet read's own CPU).
        return paging.DEFAULT_LIMIT, None
    limit = query_integer("limit", 1, paging.MAX_LIMIT, paging.DEFAULT_LIMIT)
    before = query_integer("before", 1, MAX_ID, None)
    return limit, before


def query_text(name: str, max_length: int) -> str | None:
    values = request.args.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise InvalidRequest(f"Query parameter '{name}' is given more than once.")
    if len(values[0]) > max_length or not storable(values[0]):
        raise InvalidRequest(f"Query parameter '{name}' must be text of at most {max_length} characters.")
    return values[0]


def future_time(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    try:
        seconds = parse_rfc3339(value)
    except (ValueError, OverflowError, OSError):
        raise InvalidRequest(
            f"'{name}' must be an RFC 3339 time such as 2027-06-30T23:59:59Z, in the years 0001 to 9999 (UTC)."
        ) from None
    if seconds <= now():
        raise InvalidRequest(f"'{name}' must be in the future.")
    return seconds


def query_integer(name: str, low: int, high: int, default: int | None) -> int | None:
    values = request.args.getlist(name)
    if not values:
        return default
    if len(values) > 1:
        # args.get() would quietly take the first; a client sending two means something else.
        raise InvalidRequest(f"Query parameter '{name}' is given more than once.")
    raw = values[0]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 20 or not low <= int(raw) <= high:
        raise InvalidRequest(f"Query parameter '{name}' must be a whole number from {low:,} to {high:,}.")
    return int(raw)


def _number(text: str) -> int | float:
    """A JSON number written with a fraction or exponent. JSON has one kind of number: 10.0 and
    1e1 are the whole number 10 (JSON Schema's `integer`, which openapi.yaml promises), read as
    such once here for every check and for an Idempotency-Key's body; 10.5 is not."""
    value = float(text)
    return int(value) if value.is_integer() else value


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")
