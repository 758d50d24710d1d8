"""The console's batches: the list, a new batch (what POST /coupons/generate does), a batch's
page, its sheet and CSV (what the API streams), and voiding it behind a confirmation."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from .. import clock
from ..coupons.batches import API_MAX_COUNT, DEFAULT_POINTS, MAX_LABEL, MAX_POINTS, create_batch
from ..coupons.export import coupon_rows
from ..coupons.lookup import batch_for_export, batch_page, batch_view, whole_batch
from ..coupons.sheet import HTTP_MAX_COUPONS, printable_batch, sheet
from ..coupons.voiding import void_batch
from ..db import Transaction, get_db
from ..exceptions import IdempotencyKeyReused, InvalidRequest
from ..http import idempotent, validation
from ..http.streaming import streamed
from ..roles import ISSUE, TOKENS, VIEW
from ..web import formatting
from .access import Operator, needs
from .blueprint import bp, sent_with_other_values

# A refused field in the form's words and the page's language (the API's checks word theirs in
# English, for a client), named by its label; `max` is its limit.
REFUSED = {
    "count": lazy_gettext("Count must be a whole number from 1 to %(max)s."),
    "points": lazy_gettext("Points must be a whole number from 1 to %(max)s."),
    "expires_at": lazy_gettext("Expires at must be in the future: a date from today on."),
    "label": lazy_gettext("Label must be at most %(max)s characters."),
}
LIMITS = {"count": API_MAX_COUNT, "points": MAX_POINTS, "label": MAX_LABEL}


def _batch_id(value: str) -> int:
    try:
        return validation.id_in_path(value, "batch")
    except InvalidRequest:
        from ..exceptions import BatchNotFound

        raise BatchNotFound("No batch has that id.") from None


@bp.get("/batches")
@needs(VIEW)
def batches(operator: Operator):
    return _list_page(operator)


def _list_page(operator: Operator, *, status: int = 200, error: str | None = None, form: dict | None = None):
    limit, before = validation.page_params()
    with get_db().snapshot() as tx:
        found, next_before = batch_page(tx, limit, before, clock.now())
    html = render_template(
        "console/batches.html",
        operator=operator,
        batches=found,
        next_before=next_before,
        # One key per form drawn: the form sent twice (a double click, a reload) makes one batch.
        request_id=str(uuid.uuid4()),
        max_count=API_MAX_COUNT,
        max_points=MAX_POINTS,
        default_points=DEFAULT_POINTS,
        max_label=MAX_LABEL,
        today=datetime.fromtimestamp(clock.now(), UTC).date().isoformat(),
        error=error,
        form=form or {},
    )
    return html, status


def _whole(raw: str) -> int | str:
    """A form's number as an int when it is one (the API's checks then name its range), else as
    it was typed (which they refuse)."""
    raw = raw.strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else raw


def end_of_day(raw: str) -> str | None:
    """A date picker's YYYY-MM-DD as the last second of that day, UTC (RFC 3339); None when empty."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return raw  # refused by the API's own check, with its words
    return datetime.combine(day, time(23, 59, 59), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _body(form: Any) -> dict[str, Any]:
    """The form as the JSON body POST /coupons/generate takes."""
    body: dict[str, Any] = {"count": _whole(form.get("count", ""))}
    if form.get("points", "").strip():
        body["points"] = _whole(form["points"])
    if form.get("label", "").strip():
        body["label"] = form["label"].strip()
    expires_at = end_of_day(form.get("expires_at", ""))
    if expires_at is not None:
        body["expires_at"] = expires_at
    return body


@bp.post("/batches")
@needs(ISSUE)
def create(operator: Operator):
    body = _body(request.form)
    # The API's own checks, in its order; the first field refused is named.
    checks = {
        "count": lambda: validation.integer(body, "count", 1, API_MAX_COUNT),
        "points": lambda: validation.integer(body, "points", 1, MAX_POINTS, default=DEFAULT_POINTS),
        "expires_at": lambda: validation.future_time(body, "expires_at"),
        "label": lambda: validation.text(body, "label", MAX_LABEL, required=False),
    }
    values = {}
    for field, check in checks.items():
        try:
            values[field] = check()
        except InvalidRequest:
            error = str(REFUSED[field]) % {"max": formatting.number(LIMITS.get(field, 0))}
            return _list_page(operator, status=400, error=error, form=request.form)
    count, points, expires_at, label = values["count"], values["points"], values["expires_at"], values["label"]
    key = idempotent.form_key()
    if key is None:
        return _list_page(operator, status=400, error=_("The form has expired. Try again."), form=request.form)

    def make(tx: Transaction) -> tuple[dict, int]:
        batch = create_batch(
            tx,
            operator.name,
            count=count,
            points=points,
            expires_at=expires_at,
            label=label,
            now=clock.now(),
            on_chunk=lambda _batch_id, _chunk: None,
        )
        return {"batch": batch.as_json()}, 201

    # The API's own idempotency, keyed by the form: sent twice, it answers the first batch again.
    try:
        answer = idempotent.carry_out(f"operator:{operator.name}", body, make, key=f"console-form:{key}")
    except IdempotencyKeyReused:
        return _list_page(operator, status=422, error=sent_with_other_values(), form=request.form)
    return redirect(url_for("console.batch", batch_ref=answer["batch"]["id"], created=1), 303)


@bp.get("/batches/<batch_ref>")
@needs(VIEW)
def batch(operator: Operator, batch_ref: str):
    return _batch_page(operator, _batch_id(batch_ref))


def _batch_page(operator: Operator, batch_id: int, *, status: int = 200, error: str | None = None):
    with get_db().snapshot() as tx:
        found = batch_view(tx, batch_id, clock.now())
    done = None
    if request.args.get("created"):
        done = _("Batch %(id)s was created.", id=batch_id)
    elif request.args.get("voided"):
        done = _("Batch %(id)s is void.", id=batch_id)
    html = render_template(
        "console/batch.html",
        operator=operator,
        batch=found,
        error=error,
        done=done,
        printable=HTTP_MAX_COUPONS,
    )
    return html, status


@bp.post("/batches/<batch_ref>/void")
@needs(ISSUE)
def void(operator: Operator, batch_ref: str):
    """First the confirmation page; the change only with `confirmed`."""
    batch_id = _batch_id(batch_ref)
    try:
        reason = validation.reason({"reason": request.form.get("reason", "").strip()})
    except InvalidRequest:
        return _batch_page(operator, batch_id, status=400, error=_("Write the reason, in 1 to 500 characters."))
    if request.form.get("confirmed") != "yes":
        with get_db().snapshot() as tx:
            found = batch_view(tx, batch_id, clock.now())
        return render_template("console/void_batch.html", operator=operator, batch=found, reason=reason)
    with get_db().write() as tx:
        void_batch(tx, operator.name, batch_id, reason, clock.now())
    return redirect(url_for("console.batch", batch_ref=batch_id, voided=1), 303)


@bp.get("/batches/<batch_ref>/coupons.csv")
@needs(TOKENS)
def download_csv(operator: Operator, batch_ref: str):
    batch_id = _batch_id(batch_ref)
    with get_db().snapshot() as tx:
        found = batch_for_export(tx, batch_id)  # a 404 before the 200 starts streaming
    return streamed(lambda tx: coupon_rows(tx, found, clock.now()), "text/csv", f"batch-{batch_id}-coupons.csv")


@bp.get("/batches/<batch_ref>/sheet.pdf")
@needs(TOKENS)
def download_pdf(operator: Operator, batch_ref: str):
    batch_id = _batch_id(batch_ref)
    with get_db().snapshot() as tx:
        whole_batch(tx, batch_id)  # not one still being built
        found = printable_batch(tx, batch_id)
    if found.count > HTTP_MAX_COUPONS:
        raise InvalidRequest(f"Batch {batch_id} is too large to print here.")
    template, name = current_app.config["COUPON_URL_TEMPLATE"], current_app.config["PROGRAMME_NAME"]
    return streamed(
        lambda tx: sheet(tx, found, template, name), "application/pdf", f"batch-{batch_id}-sheet.pdf", inline=True
    )
