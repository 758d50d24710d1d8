"""GET /users/<id>/wallet and /users/me/wallet: a balance and its ledger, newest first."""

from __future__ import annotations

from flask import Blueprint

from .. import clock, paging
from ..db import Transaction, get_db
from ..exceptions import Forbidden, InvalidRequest, UserNotFound
from ..http import validation
from ..http.guards import bearer_user, has_admin_key, require_admin

bp = Blueprint("wallet", __name__, url_prefix="/users")


def read_wallet(tx: Transaction, user_id: int, limit: int, before: int | None) -> dict[str, object]:
    """The wallet page, or UserNotFound. Run it in one snapshot, so balance and ledger agree."""
    user = tx.one("SELECT id, phone, balance, scans FROM users WHERE id = ?", (user_id,))
    if user is None:
        raise UserNotFound("No user has that id.")
    rows = tx.all(
        """
            SELECT l.id, l.kind, l.points, c.token AS coupon_token, l.created_at
            FROM ledger_entries l
            LEFT JOIN scans s ON s.id = l.scan_id
            LEFT JOIN coupons c ON c.id = s.coupon_id
            WHERE l.user_id = ? AND l.id < ?
            ORDER BY l.id DESC
            LIMIT ?
            """,
        (user_id, paging.below(before), paging.fetch_size(limit)),
    )
    page, next_before = paging.split(rows, limit)
    return {
        "user_id": user["id"],
        "phone": user["phone"],
        "points": user["balance"],
        "scans": user["scans"],
        "transactions": [
            {
                "id": row["id"],
                "kind": row["kind"],
                "points": row["points"],
                "coupon_token": row["coupon_token"],
                "created_at": clock.to_rfc3339(row["created_at"]),
            }
            for row in page
        ],
        "next_before": next_before,
    }


@bp.get("/me/wallet")
def my_wallet():
    user = bearer_user()
    limit, before = validation.page_params()
    with get_db().snapshot() as tx:
        return read_wallet(tx, user["id"], limit, before)


@bp.get("/<user_ref>/wallet")
def user_wallet(user_ref: str):
    admin = has_admin_key()
    caller = None if admin else bearer_user()
    user_id = validation.id_in_path(user_ref, "user")
    if caller is not None and caller["id"] != user_id:
        raise Forbidden("A user may read only their own wallet.")
    limit, before = validation.page_params()
    with get_db().snapshot() as tx:
        return read_wallet(tx, user_id, limit, before)


@bp.get("")
@require_admin
def find_user():
    """An operator looks a customer up by phone."""
    phone = validation.query_text("phone", 32) or ""
    # An unencoded + in a query string arrives as a space (?phone=+1555... from a shell).
    phone = "+" + phone[1:] if phone.startswith(" ") else phone
    if not validation.PHONE.match(phone):
        raise InvalidRequest("Query parameter 'phone' must be an E.164 number: + then 8 to 15 digits.")
    with get_db().snapshot() as tx:
        user = tx.one("SELECT id, phone, balance, scans, created_at FROM users WHERE phone = ?", (phone,))
    if user is None:
        raise UserNotFound("No user has that phone.")
    return {
        "user_id": user["id"],
        "phone": user["phone"],
        "points": user["balance"],
        "scans": user["scans"],
        "created_at": clock.to_rfc3339(user["created_at"]),
    }
