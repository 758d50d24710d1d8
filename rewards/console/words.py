"""Values the database keeps in English (a coupon's status, a payout's, an operator's role, an
audit entry's action), written in the page's language on the console; the values themselves
never change. English shows each value as it is stored, so the msgids are the values."""

from __future__ import annotations

from flask_babel import lazy_gettext

from ..web.i18n import page_translations

# One table: no value means two things (a coupon's `void` is the only void).
WORDS = {
    # A coupon's status.
    "active": lazy_gettext("active"),
    "redeemed": lazy_gettext("redeemed"),
    "expired": lazy_gettext("expired"),
    "void": lazy_gettext("void"),
    # A payout's status.
    "pending": lazy_gettext("pending"),
    "approved": lazy_gettext("approved"),
    "rejected": lazy_gettext("rejected"),
    # An operator's role.
    "viewer": lazy_gettext("viewer"),
    "issuer": lazy_gettext("issuer"),
    "finance": lazy_gettext("finance"),
    "admin": lazy_gettext("admin"),
    # An audit entry's action.
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


def in_words(value: str) -> str:
    """`value` in the page's language; a value the table lacks as it is."""
    # The msgid is the value itself: straight to the request's catalogue, not through the lazy
    # string's Flask-Babel lookups.
    return page_translations().ugettext(value) if value in WORDS else value
