"""The console's blueprint, on which every console module puts its views: the forms' CSRF
check and what every console template draws with."""

from __future__ import annotations

from flask import Blueprint, request

from ..web import csrf
from . import charts

bp = Blueprint("console", __name__, url_prefix="/console")


@bp.before_request
def _check_forms() -> None:
    # A path routing refused (http/routing.py) is its 404, whatever the form holds.
    if request.method == "POST" and request.routing_exception is None:
        csrf.protect()


@bp.context_processor
def _drawing() -> dict:
    return {"counts_bar": charts.counts_bar}
