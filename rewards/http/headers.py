"""The headers every answer carries, set in one place for every answer, errors included.

- `X-Content-Type-Options: nosniff` on every answer, so a browser never runs a JSON body, a CSV
  export or an error as HTML or script because it looks like one.
- `Cache-Control: no-store` on every answer to a request that carries credentials, so no browser,
  proxy or shared phone keeps a wallet, a token or an operator's view on disk.
- A view's own `Content-Security-Policy`, given with `@content_security_policy(...)` beside the
  view (a page knows which scripts and styles it loads; this module does not).

gunicorn's own refusals (rewards/gunicorn_worker.py) never reach Flask; they take NOSNIFF from here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, Response, current_app, request

NOSNIFF = ("X-Content-Type-Options", "nosniff")

View = TypeVar("View", bound=Callable[..., object])


def content_security_policy(policy: str) -> Callable[[View], View]:
    """Give a view's answers this policy (its errors included)."""

    def mark(view: View) -> View:
        view.content_security_policy = policy  # type: ignore[attr-defined]
        return view

    return mark


def register_security_headers(app: Flask) -> None:
    # after_request runs for the answers of error handlers too (routing 404s, 500s), not only
    # for views that returned normally.
    app.after_request(_add_security_headers)


def carries_credentials() -> bool:
    """A bearer token (any Authorization, in fact), an operator key, or a cookie. Any cookie
    counts: the service's cookies are a session and what marks a person's browser, and counting
    them all means a new session cookie cannot be forgotten here."""
    headers = request.headers
    # The raw header, not request.cookies: parsing one that is absent costs a few µs.
    return bool(headers.get("Authorization") or headers.get("X-API-Key") or request.environ.get("HTTP_COOKIE"))


def _add_security_headers(response: Response) -> Response:
    name, value = NOSNIFF
    response.headers[name] = value
    # An answer that sets a cookie (a browser's id, the forms' seed) is one browser's too: a
    # shared cache must not hand it to the next visitor.
    if carries_credentials() or "Set-Cookie" in response.headers:
        response.headers["Cache-Control"] = "no-store"
    view = current_app.view_functions.get(request.endpoint or "")
    policy = getattr(view, "content_security_policy", None)
    if policy:
        response.headers["Content-Security-Policy"] = policy
    return response
