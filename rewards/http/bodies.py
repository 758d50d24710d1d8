"""Chunked request bodies held to the same limit as a declared Content-Length.

Werkzeug refuses a Content-Length over MAX_CONTENT_LENGTH with 413, but a chunked body (no
Content-Length; gunicorn ends the stream itself and says so in wsgi.input_terminated) it cuts
at the limit, and a form or JSON parser then reads the first mebibyte as if it were the whole:
a page's form lost its CSRF token and answered "the form has expired". So a chunked body is
read here first, one byte past the limit at most. Within it, the request goes on as if its
length had been declared; past it, the app answers 413 through its own error handlers, as a
problem for the API and as a page for the pages.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

# How much of an oversized chunked body is read and thrown away before answering 413, in MiB:
# a client still sending then reads our answer rather than a reset connection.
DRAIN_MIB = 16
_TOO_LARGE = "rewards.body_too_large"


def bound_chunked_bodies(app: Flask) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.wsgi_app = _ReadChunkedFirst(app.wsgi_app, limit)

    @app.before_request
    def _refuse_too_large() -> None:
        if _TOO_LARGE in request.environ:
            raise RequestEntityTooLarge()


class _ReadChunkedFirst:
    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], limit: int) -> None:
        self.wsgi_app = wsgi_app
        self.limit = limit

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # Two lookups for any other request: only a body with no declared length is read here.
        if "HTTP_TRANSFER_ENCODING" in environ and not environ.get("CONTENT_LENGTH"):
            stream = environ["wsgi.input"]
            body = stream.read(self.limit + 1) if environ.get("wsgi.input_terminated") else b""
            if len(body) > self.limit:
                for _ in range(DRAIN_MIB):
                    if not stream.read(1 << 20):
                        break
                environ[_TOO_LARGE] = True
                body = b""
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.wsgi_app(environ, start_response)
