"""Values the database keeps in English (a coupon's status, a payout's, an operator's role, an
audit entry's action), written in the page's language on the console; the values themselves
never change. English shows each value as it is stored, so the msgids are the values."""

from __future__ import annotations

from flask_babel import lazy_gettext

COUPON_STATUS = {
    "active": lazy_gettext("active"),
    "redeemed": lazy_gettext("redeemed"),
    "expired": lazy_gettext("expired"),
    "void": lazy_gettext("void"),
}
PAYOUT_STATUS = {
    "pending": lazy_gettext("pending"),
    "approved": lazy_gettext("approved"),
    "rejected": lazy_gettext("rejected"),
}
ROLES = {
    "viewer": lazy_gettext("viewer"),
    "issuer": lazy_gettext("issuer"),
    "finance": lazy_gettext("finance"),
    "admin": lazy_gettext("admin"),
}

ACTIONS = {
    "batch.create": lazy_gettext("batch.create"),
    "batch.void": lazy_gettext("batch.void"),
    "coupon.void": lazy_gettext("coupon.void"),
    "scan.reverse": lazy_gettext("scan.reverse"),
    "user.adjust": lazy_gettext("user.adjust"),
    "payout.approve": lazy_gettext("payout.approve"),
    "payout.reject": lazy_gettext("payout.reject"),
    "operator.sign_in": lazy_gettext("operator.sign_in"),
    "operator.sign_out": lazy_gettext("operator.sign_out"),
}


def coupon_status(value: str) -> str:
    return str(COUPON_STATUS.get(value, value))


def payout_status(value: str) -> str:
    return str(PAYOUT_STATUS.get(value, value))


def role(value: str) -> str:
    return str(ROLES.get(value, value))


def action(value: str) -> str:
    return str(ACTIONS.get(value, value))
