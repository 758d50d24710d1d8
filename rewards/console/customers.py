"""The console's customers: find one by phone (the whole number, or the last digits a caller
reads out), see the balance, the ledger, the payouts and the scans, reverse a scan (what POST
/scans/<id>/reverse does) and adjust the balance (what POST /users/<id>/adjustments does)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import clock, paging
from ..db import MAX_ID, Transaction, get_db
from ..exceptions import (
    IdempotencyKeyReused,
    InsufficientPoints,
    InvalidRequest,
    ScanAlreadyReversed,
    ScanNotFound,
    UserNotFound,
)
from ..http import idempotent, validation
from ..ledger.search import MAX_DIGITS, MIN_DIGITS, users_ending_with
from ..ledger.service import MAX_ADJUSTMENT, adjust, find_user, wallet
from ..payouts.service import list_payouts
from ..redemption.history import scan_of_user, scans_of
from ..redemption.reversal import reverse_scan
from ..roles import FINANCE_ACTIONS, VIEW
from ..web import formatting
from .access import Operator, needs
from .blueprint import bp, sent_with_other_values

# A page of customers found by their last digits: a caller's "ending 321" can match many.
SEARCH_PAGE = 50


def _user_id(value: str) -> int:
    try:
        return validation.id_in_path(value, "user")
    except InvalidRequest:
        raise UserNotFound("No user has that id.") from None


def _scan_id(value: str) -> int:
    try:
        return validation.id_in_path(value, "scan")
    except InvalidRequest:
        raise ScanNotFound("No scan has that id.") from None


# Finding a customer ---------------------------------------------------------------------------


@bp.get("/users")
@needs(VIEW)
def users(operator: Operator):
    try:
        typed = validation.query_text("phone", 100)
    except InvalidRequest:  # sent twice, or too long for any phone: said as for any other input
        typed = phone = ""
    else:
        if typed is None:
            return _search_page(operator, typed="")
        phone = typed.strip()
    if validation.PHONE.fullmatch(phone):
        with get_db().snapshot() as tx:
            try:
                found = find_user(tx, phone)
            except UserNotFound:
                error = _("No customer has the phone number %(phone)s.", phone=phone)
                return _search_page(operator, typed=typed, status=404, error=error)
        return redirect(url_for("console.user", user_ref=found["user_id"]), 303)
    if phone.isascii() and phone.isdigit() and MIN_DIGITS <= len(phone) <= MAX_DIGITS:
        limit = validation.query_integer("limit", 1, paging.MAX_LIMIT, SEARCH_PAGE)
        before = validation.query_integer("before", 1, MAX_ID, None)
        with get_db().snapshot() as tx:
            found, next_before = users_ending_with(tx, phone, limit, before)
        return _search_page(operator, typed=typed, digits=phone, found=found, next_before=next_before)
    error = _(
        "Type the whole number with + and the country code (e.g. +919876543210), "
        "or %(least)s or more of its last digits (digits only).",
        least=MIN_DIGITS,
    )
    return _search_page(operator, typed=typed[:100], status=400, error=error)


def _search_page(
    operator: Operator,
    *,
    typed: str,
    status: int = 200,
    error: str | None = None,
    digits: str | None = None,
    found: list | None = None,
    next_before: int | None = None,
):
    html = render_template(
        "console/users.html",
        operator=operator,
        typed=typed,
        error=error,
        digits=digits,
        found=found or [],
        next_before=next_before,
        min_digits=MIN_DIGITS,
    )
    return html, status


# A customer's page ----------------------------------------------------------------------------


@bp.get("/users/<user_ref>")
@needs(VIEW)
def user(operator: Operator, user_ref: str):
    done = None
    if request.args.get("reversed"):
        if request.args.get("coupon") == "active":
            done = _("The scan was reversed: its points left the balance, and the coupon can be scanned again.")
        else:
            done = _("The scan was reversed: its points left the balance, and the coupon is void.")
    elif request.args.get("adjusted"):
        done = _("The balance was adjusted.")
    return _user_page(operator, _user_id(user_ref), done=done)


def _user_page(
    operator: Operator,
    user_id: int,
    *,
    status: int = 200,
    error: str | None = None,
    done: str | None = None,
    failed_form: str | None = None,
    form: dict | None = None,
):
    limit, before = validation.page_params()
    payouts_before = validation.query_integer("payouts_before", 1, MAX_ID, None)
    scans_before = validation.query_integer("scans_before", 1, MAX_ID, None)
    # One snapshot: the balance, the ledger, the payouts and the scans agree with each other.
    with get_db().snapshot() as tx:
        found = wallet(tx, user_id, limit, before)
        payouts, next_payouts = list_payouts(tx, paging.DEFAULT_LIMIT, payouts_before, user_id=user_id)
        scans, next_scans = scans_of(tx, user_id, paging.DEFAULT_LIMIT, scans_before)
    html = render_template(
        "console/user.html",
        operator=operator,
        customer=found,
        payouts=payouts,
        next_payouts=next_payouts,
        scans=scans,
        next_scans=next_scans,
        # One key per page drawn, each form's its own beside it: a form sent twice (a double
        # click, a reload) is carried out once.
        request_id=str(uuid.uuid4()),
        max_adjustment=MAX_ADJUSTMENT,
        error=error,
        done=done,
        failed_form=failed_form,
        form=form or {},
    )
    return html, status


def _once(operator: Operator, key: str, body: dict[str, Any], action: Callable[[Transaction], dict]) -> dict:
    """The action in the API's own idempotency, keyed by the form: sent twice, it is carried
    out once and its first answer is given again. A refusal (kept or fresh) is raised."""
    return idempotent.carry_out(
        f"operator:{operator.name}", body, lambda tx: (action(tx), 200), key=f"console-form:{key}"
    )


@bp.post("/users/<user_ref>/scans/<scan_ref>/reverse")
@needs(FINANCE_ACTIONS)
def reverse(operator: Operator, user_ref: str, scan_ref: str):
    user_id, scan_id = _user_id(user_ref), _scan_id(scan_ref)
    form = {"reason": request.form.get("reason", "").strip(), "restore": request.form.get("restore") == "yes"}
    failed = f"scan-{scan_id}"
    try:
        reason = validation.reason({"reason": form["reason"]})
    except InvalidRequest:
        error = _("Write the reason for reversing the scan, in 1 to 500 characters.")
        return _user_page(operator, user_id, status=400, error=error, failed_form=failed, form=form)
    key = idempotent.form_key()
    if key is None:
        return _user_page(operator, user_id, status=400, error=_("The form has expired. Try again."))
    restore = form["restore"]

    def take_back(tx: Transaction) -> dict:
        scan_of_user(tx, scan_id, user_id)
        return reverse_scan(tx, operator.name, scan_id, reason, restore, clock.now())

    try:
        answer = _once(operator, key, {"scan_id": scan_id, "reason": reason, "restore": restore}, take_back)
    except IdempotencyKeyReused:
        return _user_page(operator, user_id, status=422, error=sent_with_other_values(), failed_form=failed, form=form)
    except ScanAlreadyReversed:
        error = _("This scan was reversed before: its points have already been taken back.")
        return _user_page(operator, user_id, status=409, error=error)
    except InsufficientPoints:
        error = _(
            "The customer has spent or asked to be paid these points: reversing the scan would take "
            "the balance below zero. Nothing was changed."
        )
        return _user_page(operator, user_id, status=409, error=error, failed_form=failed, form=form)
    coupon = answer["coupon"]["status"]
    return redirect(url_for("console.user", user_ref=user_id, reversed=scan_id, coupon=coupon), 303)


def _points(raw: str) -> int | None:
    """A whole number of points, maybe negative, other than 0 and within the API's range."""
    raw = raw.strip().replace("\u2212", "-")  # a typographic minus, as some keyboards type it
    digits = raw[1:] if raw[:1] in "+-" else raw
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 10):
        return None
    points = int(raw)
    return points if points != 0 and -MAX_ADJUSTMENT <= points <= MAX_ADJUSTMENT else None


@bp.post("/users/<user_ref>/adjustments")
@needs(FINANCE_ACTIONS)
def adjust_balance(operator: Operator, user_ref: str):
    user_id = _user_id(user_ref)
    form = {"points": request.form.get("points", "").strip(), "reason": request.form.get("reason", "").strip()}
    points = _points(form["points"])
    if points is None:
        error = _(
            "Write the points as a whole number other than 0, from %(low)s to %(high)s (negative to take points away).",
            low=formatting.number(-MAX_ADJUSTMENT),
            high=formatting.number(MAX_ADJUSTMENT),
        )
        return _user_page(operator, user_id, status=400, error=error, failed_form="adjust", form=form)
    try:
        reason = validation.reason({"reason": form["reason"]})
    except InvalidRequest:
        error = _("Write the reason for the adjustment, in 1 to 500 characters.")
        return _user_page(operator, user_id, status=400, error=error, failed_form="adjust", form=form)
    key = idempotent.form_key()
    if key is None:
        return _user_page(operator, user_id, status=400, error=_("The form has expired. Try again."))

    def correct(tx: Transaction) -> dict:
        return adjust(tx, operator.name, user_id, points, reason, clock.now())

    try:
        _once(operator, key, {"user_id": user_id, "points": points, "reason": reason}, correct)
    except IdempotencyKeyReused:
        return _user_page(
            operator, user_id, status=422, error=sent_with_other_values(), failed_form="adjust", form=form
        )
    except InsufficientPoints:
        error = _("The balance cannot go below zero: take away at most what the customer has. Nothing was changed.")
        return _user_page(operator, user_id, status=409, error=error, failed_form="adjust", form=form)
    return redirect(url_for("console.user", user_ref=user_id, adjusted=1), 303)
