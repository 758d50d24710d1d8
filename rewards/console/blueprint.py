"""The console's blueprint, on which every console module puts its views: the forms' CSRF
check, what a form sent again with other values is told, and what every console template draws
with."""

from __future__ import annotations

from flask import Blueprint, request
from flask_babel import gettext as _

from ..web import csrf
from . import charts

bp = Blueprint("console", __name__, url_prefix="/console")


@bp.before_request
def _check_forms() -> None:
    # A path routing refused (http/routing.py) is its 404, whatever the form holds.
    if request.method == "POST" and request.routing_exception is None:
        csrf.protect()


def sent_with_other_values() -> str:
    """What a console form answers when its key was sent before with other values (the form
    edited in the browser's history): the page, drawn anew with a new key, says so."""
    return _("This form was already sent with other values. Check them and send it again.")


@bp.context_processor
def _drawing() -> dict:
    return {"counts_bar": charts.counts_bar}
