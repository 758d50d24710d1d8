"""The console's coupons: find one by its token (typed, pasted, or the address a phone read),
see its status and its scan, and void it (what POST /coupons/<token>/void does)."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import clock
from ..coupons.lookup import find_coupon
from ..coupons.voiding import void_coupon
from ..db import get_db
from ..exceptions import CouponAlreadyRedeemed, CouponNotFound, InvalidRequest
from ..http import validation
from ..pages.codes import token_from_code
from ..roles import ISSUE, VIEW
from .access import Operator, needs
from .blueprint import bp


@bp.get("/coupons")
@needs(VIEW)
def coupons(operator: Operator):
    typed = request.args.get("token")
    if typed is None:
        return render_template("console/coupons.html", operator=operator, typed="", error=None)
    token = token_from_code(typed)
    if token is None:
        error = _("That is not a coupon's token, nor the address of one. Check it and try again.")
        return render_template("console/coupons.html", operator=operator, typed=typed, error=error), 400
    return redirect(url_for("console.coupon", token=token), 303)


def _token(value: str) -> str:
    token = token_from_code(value)
    if token is None:
        raise CouponNotFound("No coupon has that token.")
    return token


def _coupon_page(operator: Operator, token: str, *, status: int = 200, error: str | None = None):
    with get_db().snapshot() as tx:
        found = find_coupon(tx, token, clock.now())
    done = _("The coupon is void.") if request.args.get("voided") else None
    page = render_template("console/coupon.html", operator=operator, coupon=found, error=error, done=done)
    return page, status


@bp.get("/coupons/<token>")
@needs(VIEW)
def coupon(operator: Operator, token: str):
    return _coupon_page(operator, _token(token))


@bp.post("/coupons/<token>/void")
@needs(ISSUE)
def void_one(operator: Operator, token: str):
    token = _token(token)
    try:
        reason = validation.reason({"reason": request.form.get("reason", "").strip()})
    except InvalidRequest:
        return _coupon_page(operator, token, status=400, error=_("Write the reason, in 1 to 500 characters."))
    try:
        with get_db().write() as tx:
            void_coupon(tx, operator.name, token, reason, clock.now())
    except CouponAlreadyRedeemed:
        error = _("This coupon has been redeemed: reverse its scan on the customer's page instead.")
        return _coupon_page(operator, token, status=409, error=error)
    return redirect(url_for("console.coupon", token=token, voided=1), 303)
