"""How a page writes times, points and ledger kinds, in the page's language."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from flask_babel import format_datetime, format_decimal, get_locale, lazy_gettext, ngettext
from flask_babel import gettext as _

# The wallet's kinds in words (the contract's table of kinds).
KIND_WORDS = {
    "scan": lazy_gettext("Coupon collected"),
    "reversal": lazy_gettext("Coupon taken back"),
    "adjustment": lazy_gettext("Correction by the programme"),
    "payout": lazy_gettext("Payout requested"),
    "payout_refund": lazy_gettext("Payout returned"),
}


# A payout's status in words.
STATUS_WORDS = {
    "pending": lazy_gettext("Waiting for approval"),
    "approved": lazy_gettext("Paid"),
    "rejected": lazy_gettext("Refused, points returned"),
}


def status_words(status: str) -> str:
    return str(STATUS_WORDS.get(status, status))


def current_language() -> str:
    return str(get_locale() or "en")


def when(seconds: int | None) -> str:
    if seconds is None:
        return ""
    # A 24-hour clock: some locales' am/pm marks are Latin letters in any language.
    moment = datetime.fromtimestamp(seconds, UTC)
    zone = _("UTC")
    return f"{format_datetime(moment, 'd MMMM y, HH:mm')} {zone}"


def points(amount: int | None) -> str:
    amount = amount or 0
    return ngettext("%(amount)s point", "%(amount)s points", amount, amount=format_decimal(amount))


def signed_points(amount: int) -> str:
    sign = "+" if amount > 0 else "−"
    return f"{sign}{format_decimal(abs(amount))}"


def kind_words(kind: str) -> str:
    return str(KIND_WORDS.get(kind, kind))


def register(app: Flask) -> None:
    app.jinja_env.globals.update(
        current_language=current_language,
        when=when,
        points=points,
        signed_points=signed_points,
        kind_words=kind_words,
        status_words=status_words,
    )
