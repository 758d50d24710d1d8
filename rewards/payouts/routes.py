"""Payout routes: a user requests and lists theirs; an operator lists, exports, approves and
rejects them."""

from __future__ import annotations

from flask import Blueprint, current_app, g

from .. import clock, roles
from ..db import Transaction, get_db
from ..exceptions import InvalidRequest
from ..http import idempotent, validation
from ..http.guards import owner_or_operator, require_operator, require_user
from ..http.streaming import streamed
from ..ledger.service import user_exists
from .service import MAX_POINTS, MAX_REFERENCE, STATUSES, approve, csv_lines, payout_page, reject, request_payout

bp = Blueprint("payouts", __name__)


@bp.post("/users/me/payouts")
@require_user
def request_mine():
    body = validation.json_body()
    points = validation.integer(body, "points", current_app.config["PAYOUT_MIN_POINTS"], MAX_POINTS)
    user_id, rate_limit = g.user["id"], current_app.config["PAYOUT_RATE_LIMIT"]

    def hold(tx: Transaction) -> tuple[dict, int]:
        return request_payout(tx, user_id, points, clock.now(), rate_limit), 201

    return idempotent.respond(f"user:{user_id}", body, hold, key=idempotent.request_key())


@bp.get("/users/me/payouts")
@require_user
def list_mine():
    limit, before = validation.page_params()
    with get_db().snapshot() as tx:
        return payout_page(tx, limit, before, user_id=g.user["id"])


@bp.get("/users/<user_ref>/payouts")
@owner_or_operator(roles.VIEW, "payouts")
def list_users(user_ref: str):
    limit, before = validation.page_params()
    with get_db().snapshot() as tx:
        user_exists(tx, g.user_id)
        return payout_page(tx, limit, before, user_id=g.user_id)


@bp.get("/payouts")
@require_operator(roles.VIEW)
def list_all():
    status = _status()
    limit, before = validation.page_params()
    with get_db().snapshot() as tx:
        return payout_page(tx, limit, before, status=status)


@bp.get("/payouts.csv")
@require_operator(roles.FINANCE_ACTIONS)
def export():
    status = _status()
    suffix = f"-{status}" if status else ""
    return streamed(lambda tx: csv_lines(tx, status), "text/csv", f"payouts{suffix}.csv")


@bp.post("/payouts/<payout_ref>/approve")
@require_operator(roles.FINANCE_ACTIONS)
def approve_one(payout_ref: str):
    payout_id = validation.id_in_path(payout_ref, "payout")
    reference = validation.text(validation.json_body(), "reference", MAX_REFERENCE)
    if not reference:
        raise InvalidRequest(f"'reference' must be 1 to {MAX_REFERENCE} characters: the transfer's id.")
    with get_db().write() as tx:
        return approve(tx, g.operator, payout_id, reference, clock.now())


@bp.post("/payouts/<payout_ref>/reject")
@require_operator(roles.FINANCE_ACTIONS)
def reject_one(payout_ref: str):
    payout_id = validation.id_in_path(payout_ref, "payout")
    reason = validation.reason(validation.json_body())
    with get_db().write() as tx:
        return reject(tx, g.operator, payout_id, reason, clock.now())


def _status() -> str | None:
    status = validation.query_text("status", 16)
    if status is not None and status not in STATUSES:
        raise InvalidRequest(f"Query parameter 'status' must be one of {', '.join(STATUSES)}.")
    return status
