"""Chunked request bodies held to the same limit as a declared Content-Length.

Werkzeug refuses a Content-Length over MAX_CONTENT_LENGTH with 413 when the body is read, but
a chunked body (no Content-Length; gunicorn ends the stream itself and says so in
wsgi.input_terminated) it cuts at the limit, and a form or JSON parser then reads the first
mebibyte as if it were the whole: a page's form was accepted cut, or answered "the form has
expired". So a chunked body is read here first, one byte past the limit at most, and handed on
as a body of declared length: within the limit, itself; past it, an empty stream that declares
one byte too many, which Werkzeug refuses with 413 at the very point it refuses a declared
length (after the routing's 404 and 405 and a route's own 401, and never on a route that reads
no body). The app's error handlers answer it, as a problem for the API and a page for the pages.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

# How much of an oversized chunked body is read and thrown away, in MiB: a client still
# sending then reads our answer rather than a reset connection.
DRAIN_MIB = 16
_PIECE = 1 << 16


def bound_chunked_bodies(app: Flask) -> None:
    app.wsgi_app = _ChunkedAsDeclared(app.wsgi_app, app.config)


class _ChunkedAsDeclared:
    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], config: dict[str, Any]) -> None:
        self.wsgi_app = wsgi_app
        self.config = config

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # One lookup for any other request. Without wsgi.input_terminated Werkzeug reads no
        # undeclared body at all, and that stays its business.
        if "HTTP_TRANSFER_ENCODING" in environ and "wsgi.input_terminated" in environ:
            limit = self.config["MAX_CONTENT_LENGTH"]
            stream = environ["wsgi.input"]
            body = _read_up_to(stream, limit + 1)
            if len(body) > limit:
                for _ in range(DRAIN_MIB):
                    if not stream.read(1 << 20):
                        break
                body = b""
                declared = limit + 1
            else:
                declared = len(body)
            # Werkzeug takes no Content-Length beside a Transfer-Encoding: the body is no
            # longer chunked for anything after this.
            del environ["HTTP_TRANSFER_ENCODING"]
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(declared)
        return self.wsgi_app(environ, start_response)


def _read_up_to(stream: Any, size: int) -> bytes:
    """Up to `size` bytes, fewer only at the end of the body: a stream may answer a read with
    less than was asked before its end."""
    pieces, got = [], 0
    while got < size:
        piece = stream.read(min(_PIECE, size - got))
        if not piece:
            break
        pieces.append(piece)
        got += len(piece)
    return b"".join(pieces)
