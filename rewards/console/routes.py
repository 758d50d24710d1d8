"""The console's own pages: signing in and out, and the dashboard. Forms post back and
redirect (post/redirect/get), every change is the API's own service call in its transaction."""

from __future__ import annotations

from flask import Response, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import clock, ratelimit, stats
from ..auth.login import client_address
from ..coupons.lookup import fastest_batches
from ..db import get_db
from ..exceptions import RateLimited
from ..http.guards import operator_for_key
from ..roles import VIEW
from ..web import formatting, sessions
from ..web.i18n import page_language
from . import access, charts, words
from .access import Operator, current_operator, needs
from .blueprint import bp

# The dashboard's batches redeeming fastest: this many.
FASTEST = 5
# An operator key is at most this long; anything longer is not one (and is not hashed).
MAX_KEY = 200


@bp.app_context_processor
def _words() -> dict:
    # Every console page's header names the operator's role, its error pages included (drawn
    # outside the blueprint when no route matched).
    return {"value_words": words.in_words}


@bp.get("/sign-in")
def sign_in():
    if current_operator() is not None:
        return redirect(url_for("console.dashboard"), 303)
    return render_template("console/sign_in.html", error=None)


@bp.post("/sign-in")
def check_key():
    given = request.form.get("key", "")
    name = operator_for_key(given) if 0 < len(given) <= MAX_KEY else None
    now = clock.now()
    try:
        with get_db().write() as tx:
            # Every attempt counts, right or wrong, on the counter /auth/otp and /auth/verify
            # use: past the limit a right key is refused too, or guessing would go on.
            ratelimit.count(
                tx,
                f"auth-ip:{client_address()}",
                current_app.config["AUTH_IP_RATE_LIMIT"],
                now,
                "Too many sign-ins from this address; wait.",
            )
            if name is None:
                raw = None
            else:
                ttl = current_app.config["CONSOLE_SESSION_TTL_SECONDS"]
                raw = access.sign_in(tx, name, now, ttl)
    except RateLimited as refusal:
        minutes = max(1, round((refusal.retry_after or 60) / 60))
        error = _("Too many sign-ins from this address. Wait %(minutes)d minutes and try again.", minutes=minutes)
        page = render_template("console/sign_in.html", error=error)
        return page, 429, {"Retry-After": str(max(1, refusal.retry_after or 1))}
    if raw is None:
        return render_template("console/sign_in.html", error=_("That operator key is wrong.")), 401
    response = redirect(url_for("console.dashboard"), 303)
    sessions.set_cookie(response, sessions.OPERATOR, raw, current_app.config["CONSOLE_SESSION_TTL_SECONDS"])
    return response


@bp.post("/sign-out")
def sign_out():
    operator = current_operator()
    now = clock.now()
    with get_db().write() as tx:
        access.sign_out(tx, operator, now)
    response: Response = redirect(url_for("console.sign_in"), 303)
    sessions.clear_cookie(response, sessions.OPERATOR)
    return response


@bp.get("")
@needs(VIEW)
def dashboard(operator: Operator):
    now = clock.now()
    with get_db().snapshot() as tx:
        figures = stats.stats(tx, now)
        pending = tx.scalar("SELECT count(*) FROM payouts WHERE status = 'pending'")
        fastest = fastest_batches(tx, FASTEST, now)
    language = page_language()
    chart = charts.scans_per_day(figures["scans_per_day"], _("Scans per day"), lambda n: formatting.number(n, language))
    return render_template(
        "console/dashboard.html", operator=operator, stats=figures, chart=chart, pending=pending, fastest=fastest
    )
