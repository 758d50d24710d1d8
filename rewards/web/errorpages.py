"""Errors under the pages' paths are pages: a person reads them, not a client."""

from __future__ import annotations

from flask import Response, render_template, request
from flask_babel import gettext as _


def _words(status: int, form_expired: bool) -> tuple[str, str]:
    if form_expired:
        return _("The form has expired"), _("Go back, reload the page and try again.")
    if status == 404:
        return _("Not found"), _(
            "There is nothing at this address. If you typed it, check it; if you scanned it, the code may not be one of ours."
        )
    if status == 405:
        return _("Not possible here"), _("This page cannot do that. Go back and use the buttons on the page.")
    if status == 400:
        return _("Not understood"), _(
            "This address or form could not be understood. Go back, reload the page and try again."
        )
    if status == 403:
        return _("The form has expired"), _("Go back, reload the page and try again.")
    if status == 413:
        return _("Too much"), _("What was sent is too large.")
    if status == 429:
        return _("Too many tries"), _("Wait a few minutes and try again.")
    if status == 503:
        return _("Busy"), _("The service is busy for a moment. Try again in a minute.")
    return _("Something went wrong"), _("It has been noted. Try again in a minute.")


def error_page(status: int, headers: dict[str, str] | None = None, *, form_expired: bool = False) -> Response:
    heading, message = _words(status, form_expired)
    from flask import g

    if request.path.startswith("/console"):
        from ..console.access import operator_for_error_page

        html = render_template(
            "console/error.html", heading=heading, message=message, operator=operator_for_error_page(status)
        )
    else:
        html = render_template("error.html", heading=heading, message=message, customer=g.get("customer"))
    response = Response(html, status=status, mimetype="text/html")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
