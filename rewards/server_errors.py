"""Errors gunicorn answers itself, before the app sees a request (a request line or headers
too long to parse), as RFC 9457 problems like every other error of the service.

gunicorn writes these through one function, gunicorn.util.write_error, as HTML, with statuses
such as 414 and 431 that the contract's table does not have. install() replaces that function
so they answer 400 invalid_request, the contract's word for a request we cannot take, with a
detail that says which limit; gunicorn.conf.py calls it in the master, before workers fork.
"""

from __future__ import annotations

import json

from werkzeug.http import HTTP_STATUS_CODES

# Fixed text: gunicorn's own messages can quote the request line back.
_DETAILS = {
    400: "The request could not be parsed as HTTP.",
    414: "The request line (method, path and query) is longer than the server accepts.",
    431: "The request headers are larger than the server accepts.",
}


def problem_bytes(gunicorn_status: int) -> bytes:
    """A complete HTTP response carrying the problem for what gunicorn refused."""
    status, code = (400, "invalid_request") if gunicorn_status < 500 else (500, "internal_error")
    body = json.dumps(
        {
            "type": "about:blank",
            "title": HTTP_STATUS_CODES[status],
            "status": status,
            "code": code,
            "detail": _DETAILS.get(gunicorn_status, "The server could not handle this request."),
        },
        separators=(",", ":"),
    ).encode()
    head = (
        f"HTTP/1.1 {status} {HTTP_STATUS_CODES[status]}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/problem+json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1")
    return head + body


def install() -> None:
    from gunicorn import util

    def write_error(sock, status_int, reason, mesg):  # gunicorn's signature
        util.write_nonblock(sock, problem_bytes(int(status_int)))

    util.write_error = write_error
