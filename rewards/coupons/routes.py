"""POST /coupons/generate: a batch of coupons, for an operator."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g
from werkzeug.routing import BaseConverter

from .. import clock, roles
from ..db import Transaction, get_db
from ..exceptions import InvalidRequest
from ..http import idempotent, validation
from ..http.guards import require_operator
from ..http.streaming import streamed
from . import qr
from .batches import API_MAX_COUNT, DEFAULT_POINTS, MAX_LABEL, MAX_POINTS, create_batch
from .export import coupon_rows
from .lookup import batch_for_export, batch_page, batch_view, coupon_exists, coupon_view, whole_batch
from .sheet import HTTP_MAX_COUPONS, printable_batch, sheet
from .voiding import void_batch, void_coupon

bp = Blueprint("coupons", __name__)


class CouponTokenSegment(BaseConverter):
    """Any path segment but `generate`, so /coupons/generate is only ever the POST that makes
    a batch (a GET of it is a 405 with Allow: POST, not a lookup of a token called so). What
    the segment holds is checked by the view: a bad token is a 400 naming it."""

    regex = r"(?!generate$)[^/]+"


@bp.post("/coupons/generate")
@require_operator(roles.ISSUE)
def generate():
    body = validation.json_body()
    count = validation.integer(body, "count", 1, API_MAX_COUNT)
    points = validation.integer(body, "points", 1, MAX_POINTS, default=DEFAULT_POINTS)
    expires_at = validation.future_time(body, "expires_at")
    label = validation.text(body, "label", MAX_LABEL, required=False)

    operator = g.operator

    def make(tx: Transaction) -> tuple[dict, int]:
        tokens: list[str] = []
        now = clock.now()
        batch = create_batch(
            tx,
            operator,
            count=count,
            points=points,
            expires_at=expires_at,
            label=label,
            now=now,
            on_chunk=lambda _batch_id, chunk: tokens.extend(chunk),
        )
        expiry = clock.to_rfc3339(expires_at)
        coupons = [{"token": t, "points": points, "expires_at": expiry} for t in tokens]
        return {"batch": batch.as_json(), "coupons": coupons}, 201

    return idempotent.respond(f"operator:{operator}", body, make, key=idempotent.request_key())


@bp.get("/coupons/<coupon_token:token>")
@require_operator(roles.VIEW)
def show_coupon(token: str):
    token = validation.token_in_path(token)
    with get_db().snapshot() as tx:
        return coupon_view(tx, token, clock.now())


@bp.post("/coupons/<coupon_token:token>/void")
@require_operator(roles.ISSUE)
def withdraw_coupon(token: str):
    token = validation.token_in_path(token)
    reason = validation.reason(validation.json_body())
    now = clock.now()
    with get_db().write() as tx:
        void_coupon(tx, g.operator, token, reason, now)
        return coupon_view(tx, token, now)


@bp.get("/batches")
@require_operator(roles.VIEW)
def list_batches():
    limit, before = validation.page_params()
    with get_db().snapshot() as tx:
        batches, next_before = batch_page(tx, limit, before, clock.now())
    return {"batches": [batch.as_json() for batch in batches], "next_before": next_before}


@bp.get("/batches/<batch_ref>")
@require_operator(roles.VIEW)
def show_batch(batch_ref: str):
    batch_id = validation.id_in_path(batch_ref, "batch")
    with get_db().snapshot() as tx:
        return batch_view(tx, batch_id, clock.now()).as_json()


@bp.post("/batches/<batch_ref>/void")
@require_operator(roles.ISSUE)
def withdraw_batch(batch_ref: str):
    batch_id = validation.id_in_path(batch_ref, "batch")
    reason = validation.reason(validation.json_body())
    now = clock.now()
    with get_db().write() as tx:
        void_batch(tx, g.operator, batch_id, reason, now)
        return batch_view(tx, batch_id, now).as_json()


@bp.get("/batches/<batch_ref>/coupons.csv")
@require_operator(roles.TOKENS)
def export_batch(batch_ref: str):
    batch_id = validation.id_in_path(batch_ref, "batch")
    with get_db().snapshot() as tx:
        batch = batch_for_export(tx, batch_id)  # a 404 before the 200 starts streaming
    return streamed(lambda tx: coupon_rows(tx, batch, clock.now()), "text/csv", f"batch-{batch_id}-coupons.csv")


@bp.get("/batches/<batch_ref>/sheet.pdf")
@require_operator(roles.TOKENS)
def print_batch(batch_ref: str):
    batch_id = validation.id_in_path(batch_ref, "batch")
    with get_db().snapshot() as tx:
        whole_batch(tx, batch_id)  # not one still being built
        batch = printable_batch(tx, batch_id)
    if batch.count > HTTP_MAX_COUPONS:
        raise InvalidRequest(
            f"Batch {batch_id} has {batch.count:,} coupons; a sheet over HTTP holds at most {HTTP_MAX_COUPONS:,}. "
            f"Print it from the shell: flask --app app print-batch {batch_id} --output batch-{batch_id}.pdf"
        )
    template, name = current_app.config["COUPON_URL_TEMPLATE"], current_app.config["PROGRAMME_NAME"]
    return streamed(
        lambda tx: sheet(tx, batch, template, name), "application/pdf", f"batch-{batch_id}-sheet.pdf", inline=True
    )


@bp.get("/coupons/<coupon_token:token>/qr.svg", defaults={"kind": "svg"})
@bp.get("/coupons/<coupon_token:token>/qr.png", defaults={"kind": "png"})
@require_operator(roles.TOKENS)
def coupon_qr(token: str, kind: str):
    token = validation.token_in_path(token)
    scale = validation.query_integer("scale", 1, qr.MAX_SCALE, qr.DEFAULT_SCALE)
    with get_db().snapshot() as tx:
        coupon_exists(tx, token)
    payload = qr.coupon_payload(current_app.config["COUPON_URL_TEMPLATE"], token)
    mimetype = "image/svg+xml" if kind == "svg" else "image/png"
    return Response(qr.qr_image(payload, kind, scale), mimetype=mimetype)
