"""Paths match their rule exactly, or they are a 404: never a redirect.

Werkzeug answers `/users//1/wallet` (slashes it would merge) and `/console` for a rule
`/console/` with a redirect to an absolute URL it builds from the request's Host header, so a
link with a hostile Host sends the client to another site. Neither kind of redirect is made here.
It also matches `//users/1/wallet` as `/users/1/wallet` (it drops leading slashes), a path a
browser would read as the host `users`; that is no route either.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import NotFound
from werkzeug.routing import RequestRedirect


def register_exact_routing(app: Flask) -> None:
    """Call before any rule is added: a rule takes merge_slashes from the map when it is added."""
    app.url_map.merge_slashes = False
    app.before_request(_exact_paths_only)


def _exact_paths_only() -> None:
    # Routing ran before this hook and dispatch (which raises routing_exception) runs after it:
    # a redirect it decided on (a rule ending in a slash, asked for without it) becomes the 404
    # any unknown path is.
    if isinstance(request.routing_exception, RequestRedirect) or request.environ.get("PATH_INFO", "").startswith("//"):
        request.routing_exception = NotFound()
