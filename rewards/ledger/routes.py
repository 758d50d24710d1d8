"""Wallets (GET /users/<id>/wallet, /users/me/wallet), a customer found by phone (GET /users),
and an operator's adjustment of a balance (POST /users/<id>/adjustments)."""

from __future__ import annotations

from flask import Blueprint, g

from .. import clock, roles
from ..db import Transaction, get_db
from ..exceptions import InvalidRequest
from ..http import idempotent, validation
from ..http.guards import (
    bearer_before_refusals,
    bearer_claims,
    owner_or_operator,
    require_operator,
    unknown_bearer,
)
from .service import MAX_ADJUSTMENT, adjust, find_user, own_wallet, read_wallet, wallet_json

bp = Blueprint("wallet", __name__, url_prefix="/users")


@bp.get("/me/wallet")
def my_wallet():
    claims = bearer_claims()
    with bearer_before_refusals(claims):
        limit, before = validation.page_params()
    found = own_wallet(get_db(), claims.user_id, claims.database, limit, before)
    if found is None:
        raise unknown_bearer()
    return wallet_json(found)


@bp.get("/<user_ref>/wallet")
@owner_or_operator(roles.VIEW, "wallet")
def user_wallet(user_ref: str):
    limit, before = validation.page_params()
    with get_db().snapshot() as tx:
        return read_wallet(tx, g.user_id, limit, before)


@bp.get("")
@require_operator(roles.VIEW)
def find_by_phone():
    """An operator looks a customer up by phone."""
    phone = validation.query_text("phone", 32) or ""
    # An unencoded + in a query string arrives as a space (?phone=+1555... from a shell).
    phone = "+" + phone[1:] if phone.startswith(" ") else phone
    if not validation.PHONE.fullmatch(phone):
        raise InvalidRequest("Query parameter 'phone' must be an E.164 number: + then 8 to 15 digits.")
    with get_db().snapshot() as tx:
        return find_user(tx, phone)


@bp.post("/<user_ref>/adjustments")
@require_operator(roles.FINANCE_ACTIONS)
def adjust_balance(user_ref: str):
    user_id = validation.id_in_path(user_ref, "user")
    body = validation.json_body()
    points = validation.integer(body, "points", -MAX_ADJUSTMENT, MAX_ADJUSTMENT)
    if points == 0:
        raise InvalidRequest(
            f"'points' must be a whole number other than 0, from {-MAX_ADJUSTMENT:,} to {MAX_ADJUSTMENT:,}."
        )
    reason = validation.reason(body)
    operator = g.operator

    def correct(tx: Transaction) -> tuple[dict, int]:
        return adjust(tx, operator, user_id, points, reason, clock.now()), 201

    return idempotent.respond(f"operator:{operator}", body, correct, key=idempotent.request_key())
