"""The customer's pages. Each action is the API's own service call, in its transaction, with
its limits; forms post back and redirect (post/redirect/get), so a reload never repeats one."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from .. import clock
from ..auth.login import check_code, send_code
from ..coupons.lookup import Coupon, find_coupon
from ..db import Transaction, get_db
from ..exceptions import (
    CouponAlreadyRedeemed,
    IdempotencyKeyReused,
    InsufficientPoints,
    InvalidOtp,
    InvalidRequest,
    OtpDeliveryFailed,
    RateLimited,
    Refusal,
    TooManyAttempts,
)
from ..http import idempotent, validation
from ..http.guards import session_customer
from ..ledger.service import wallet
from ..payouts.service import MAX_POINTS as MAX_PAYOUT
from ..payouts.service import list_payouts, request_payout
from ..redemption.service import redeem_coupon
from ..web import csrf, sessions
from . import messages
from .codes import token_from_code
from .navigation import SIGN_IN, safe_next, sign_in_then

bp = Blueprint("pages", __name__)
bp.add_app_template_global(sign_in_then)

DEVICE_COOKIE = "device"
DEVICE_COOKIE_AGE = 10 * 365 * 86_400
# What the sign-in form remembers between its two steps, in the signed forms cookie.
PENDING_PHONE = "sign_in_phone"
SHOWN_CODE = "sign_in_code"
SIGN_IN_ENDPOINTS = frozenset(
    {"pages.sign_in", "pages.send_sign_in_code", "pages.enter_code", "pages.check_sign_in_code"}
)


@bp.before_request
def _check_forms() -> None:
    # A path routing refused (http/routing.py) is its 404, whatever the form holds.
    if request.method == "POST" and request.routing_exception is None:
        csrf.protect()


@bp.after_request
def _after(response: Response) -> Response:
    if not _gives_device_id():
        return response
    device = _device_id()
    if request.cookies.get(DEVICE_COOKIE) != device:
        response.set_cookie(
            DEVICE_COOKIE,
            device,
            max_age=DEVICE_COOKIE_AGE,
            httponly=True,
            samesite="Lax",
            path="/",
            secure=sessions.secure_cookies(),
        )
    return response


def _gives_device_id() -> bool:
    """A browser gets its id where a scan can follow, so that a scan sent again later (the
    offline queue) carries the device_id it was first sent with: on signing in and on every page
    a signed-in customer sees. A glance at a coupon's page by someone signed out (a passer-by, a
    link preview) leaves no cookie."""
    return request.endpoint in SIGN_IN_ENDPOINTS or g.get("customer") is not None


def _device_id() -> str:
    """The browser's own id, kept in a cookie, stored with its scans (what the API's device_id is)."""
    kept = request.cookies.get(DEVICE_COOKIE, "")
    if kept and len(kept) <= 64 and kept.isascii() and kept.replace("-", "").isalnum():
        return kept
    if "new_device" not in g:
        g.new_device = str(uuid.uuid4())
    return g.new_device


def _to_sign_in() -> Response:
    target = request.full_path if request.method == "GET" else request.path
    return redirect(url_for("pages.sign_in", next=target.rstrip("?")), 303)


def signed_in(view: Callable[..., Any]) -> Callable[..., Any]:
    """The view runs for a signed-in customer, handed to it first; anyone else is asked to sign
    in and comes back here afterwards."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        customer = session_customer()
        if customer is None:
            return _to_sign_in()
        return view(customer, *args, **kwargs)

    return wrapped


def _see(endpoint: str, **values: Any) -> Response:
    return redirect(url_for(endpoint, **values), 303)


@bp.get("/")
def home():
    return render_template("pages/home.html", customer=session_customer())


# Signing in -------------------------------------------------------------------------------


@bp.get(SIGN_IN)
def sign_in():
    return render_template("pages/sign_in.html", next=safe_next(request.args.get("next")), error=None)


@bp.post(SIGN_IN)
def send_sign_in_code():
    target = safe_next(request.form.get("next"))
    phone = request.form.get("phone", "").strip()
    try:
        phone = validation.phone({"phone": phone})
    except InvalidRequest:
        return _sign_in_again(target, _("Write the phone number with + and the country code, e.g. +919876543210."), 400)
    try:
        code = send_code(phone)
    except RateLimited as refusal:
        return _sign_in_again(target, messages.refusal(refusal), 429, messages.retry_after(refusal))
    except OtpDeliveryFailed:
        return _sign_in_again(target, _("The text message could not be sent. Try again in a minute."), 502)
    session[PENDING_PHONE] = phone
    if current_app.config["OTP_DELIVERY"] == "response":
        session[SHOWN_CODE] = code  # development only: production refuses OTP_DELIVERY=response
    return _see("pages.enter_code", next=target)


def _sign_in_again(target: str, error: str, status: int, headers: dict | None = None) -> tuple[str, int, dict]:
    return render_template("pages/sign_in.html", next=target, error=error), status, headers or {}


@bp.get(f"{SIGN_IN}/code")
def enter_code():
    target = safe_next(request.args.get("next"))
    phone = session.get(PENDING_PHONE)
    if not phone:
        return _see("pages.sign_in", next=target)
    return render_template(
        "pages/enter_code.html", next=target, phone=phone, shown_code=session.get(SHOWN_CODE), error=None
    )


@bp.post(f"{SIGN_IN}/code")
def check_sign_in_code():
    target = safe_next(request.form.get("next"))
    phone = session.get(PENDING_PHONE)
    if not phone:
        return _see("pages.sign_in", next=target)
    code = request.form.get("code", "").strip()
    now = clock.now()
    try:
        if not (len(code) == 6 and code.isascii() and code.isdigit()):
            raise InvalidOtp("not six digits")
        user, _instance = check_code(phone, code, now)
    except (InvalidOtp, TooManyAttempts, RateLimited) as refusal:
        status = 401 if isinstance(refusal, InvalidOtp) else 429
        page = render_template(
            "pages/enter_code.html",
            next=target,
            phone=phone,
            shown_code=session.get(SHOWN_CODE),
            error=messages.refusal(refusal),
        )
        return page, status, messages.retry_after(refusal)
    ttl = current_app.config["WEB_SESSION_TTL_SECONDS"]
    with get_db().write() as tx:
        sessions.end(tx, sessions.CUSTOMER)  # whoever was signed in on this browser before
        raw = sessions.start(tx, sessions.CUSTOMER, now, ttl, user_id=user["id"])
    # A new seed for the forms' CSRF tokens: a token from before this sign-in is no good after it.
    session.clear()
    session.permanent = True
    response = redirect(target, 303)
    sessions.set_cookie(response, sessions.CUSTOMER, raw, ttl)
    return response


@bp.post("/sign-out")
def sign_out():
    with get_db().write() as tx:
        sessions.end(tx, sessions.CUSTOMER)
    session.clear()  # and with it the forms' CSRF seed
    response = _see("pages.home")
    sessions.clear_cookie(response, sessions.CUSTOMER)
    return response


# A coupon's page ----------------------------------------------------------------------------


def _token(value: str) -> str:
    try:
        return validation.token_in_path(value)
    except InvalidRequest:
        # Not a coupon's address at all: the page of a coupon that does not exist.
        from ..exceptions import CouponNotFound

        raise CouponNotFound("No coupon has that token.") from None


def _coupon_page(token: str, customer: dict | None, status: int = 200, problem: str | None = None):
    now = clock.now()
    with get_db().snapshot() as tx:
        coupon = find_coupon(tx, token, now)
        balance = _balance(tx, customer["id"]) if customer else None
    state = _state(coupon, customer)
    page = render_template(
        "pages/coupon.html", coupon=coupon, state=state, customer=customer, balance=balance, problem=problem
    )
    return page, status


def _state(coupon: Coupon, customer: dict | None) -> str:
    """What the customer is told: active, mine (collected by them), taken, void or expired."""
    if coupon.status == "redeemed":
        mine = customer is not None and coupon.scan is not None and coupon.scan.user_id == customer["id"]
        return "mine" if mine else "taken"
    return coupon.status


def _balance(tx: Transaction, user_id: int) -> int:
    return tx.scalar("SELECT balance FROM users WHERE id = ?", (user_id,))


@bp.get("/c/<token>")
def coupon(token: str):
    return _coupon_page(_token(token), session_customer())


@bp.post("/c/<token>")
@signed_in
def collect(customer: dict, token: str):
    token = _token(token)
    return _collect(customer, token)


def _collect(customer: dict, token: str):
    """Redeem `token` for the signed-in customer, then show its page. A coupon they collected
    already (a double tap, a reload, a queued scan sent twice) is shown as theirs."""
    user_id = customer["id"]
    device = _device_id()
    limit = current_app.config["SCAN_RATE_LIMIT"]

    def redeem(tx: Transaction) -> tuple[dict, int]:
        done = redeem_coupon(tx, user_id, token, clock.now(), limit, device)
        return {"scan_id": done.scan_id, "points": done.points, "balance": done.balance}, 200

    try:
        key = idempotent.request_key()
        if key is None:
            with get_db().write() as tx:
                redeem(tx)
        else:
            # The offline queue sends each waiting scan with its own key: sent twice, it counts once.
            # The coupon alone is what a retry must repeat (a browser may have lost its device id
            # between two tries).
            idempotent.carry_out(f"user:{user_id}", {"token": token}, redeem, key=key)
    except CouponAlreadyRedeemed:
        pass  # the page says whose it is
    except Refusal as refusal:
        if not messages.is_coupon_refusal(refusal):
            raise
        status, _code = messages.status_of(refusal)
        page, _status = _coupon_page(token, customer, status, messages.refusal(refusal))
        return page, status, messages.retry_after(refusal)
    return _see("pages.coupon", token=token)


# The wallet, scanning, payouts ------------------------------------------------------------


@bp.get("/me")
@signed_in
def me(customer: dict):
    limit, before = validation.page_params()
    with get_db().snapshot() as tx:
        found = wallet(tx, customer["id"], limit, before)
    return render_template("pages/wallet.html", wallet=found, customer=customer)


@bp.get("/me/scan")
@signed_in
def scan(customer: dict):
    return render_template("pages/scan.html", customer=customer, error=None)


@bp.post("/me/scan")
@signed_in
def redeem_typed(customer: dict):
    token = token_from_code(request.form.get("code", ""))
    if token is None:
        page = render_template(
            "pages/scan.html", customer=customer, error=_("That is not a coupon code. Check it and try again.")
        )
        return page, 400
    return _collect(customer, token)


@bp.get("/me/payouts")
@signed_in
def payouts(customer: dict):
    done = (
        _("Your payout was requested. The programme will pay it and say so here.")
        if request.args.get("requested")
        else None
    )
    return _payouts_page(customer, done=done)


def _payouts_page(customer: dict, *, status: int = 200, error: str | None = None, done: str | None = None):
    limit, before = validation.page_params()
    with get_db().snapshot() as tx:
        balance = _balance(tx, customer["id"])
        found, next_before = list_payouts(tx, limit, before, user_id=customer["id"])
    page = render_template(
        "pages/payouts.html",
        customer=customer,
        balance=balance,
        payouts=found,
        next_before=next_before,
        minimum=current_app.config["PAYOUT_MIN_POINTS"],
        # One key per form drawn: the form sent twice (a double tap, a reload) is carried out once.
        request_id=str(uuid.uuid4()),
        error=error,
        done=done,
    )
    return page, status


@bp.post("/me/payouts")
@signed_in
def request_payout_form(customer: dict):
    config = current_app.config
    raw = request.form.get("points", "").strip()
    points = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 13 else None
    if points is None or not config["PAYOUT_MIN_POINTS"] <= points <= MAX_PAYOUT:
        error = _("Write a whole number of points, at least %(minimum)s.", minimum=config["PAYOUT_MIN_POINTS"])
        return _payouts_page(customer, status=400, error=error)
    key = idempotent.form_key()
    if key is None:
        return _payouts_page(customer, status=400, error=_("The form has expired. Try again."))
    user_id, limit = customer["id"], config["PAYOUT_RATE_LIMIT"]

    def hold(tx: Transaction) -> tuple[dict, int]:
        return request_payout(tx, user_id, points, clock.now(), limit), 201

    try:
        idempotent.carry_out(f"user:{user_id}", {"points": points}, hold, key=f"form:{key}")
    except (InsufficientPoints, RateLimited, IdempotencyKeyReused) as refusal:
        # Drawn again with a new key: the customer can correct the form and send it.
        status, _code = messages.status_of(refusal)
        page, _status = _payouts_page(customer, status=status, error=messages.refusal(refusal))
        return page, status, messages.retry_after(refusal)
    return _see("pages.payouts", requested=1)


# The installable app --------------------------------------------------------------------------


@bp.get("/manifest.webmanifest")
def manifest():
    name = current_app.config["PROGRAMME_NAME"]
    body = {
        "name": name,
        "short_name": name,
        "start_url": "/me",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b5d3b",
        "icons": [
            {
                "src": url_for("static", filename=f"icons/icon-{size}.png"),
                "sizes": f"{size}x{size}",
                "type": "image/png",
            }
            for size in (192, 512)
        ],
    }
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")


@bp.get("/sw.js")
def service_worker():
    # At the root, so that its scope covers /me/scan; never cached by HTTP, so a new version is
    # picked up on the next visit.
    response = current_app.send_static_file("js/sw.js")
    response.headers["Cache-Control"] = "no-cache"
    return response
