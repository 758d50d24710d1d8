"""The service's refusals in a customer's words, in their language."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import ngettext

from ..errors import status_and_code
from ..exceptions import (
    CouponExpired,
    CouponNotFound,
    CouponVoid,
    IdempotencyKeyReused,
    InsufficientPoints,
    InvalidOtp,
    RateLimited,
    Refusal,
    TooManyAttempts,
)

_COUPON_REFUSALS = (CouponExpired, CouponNotFound, CouponVoid, RateLimited, IdempotencyKeyReused)


def retry_after(refusal: Refusal) -> dict[str, str]:
    """The Retry-After header a refusal's page carries, if it has one."""
    return {"Retry-After": str(max(1, refusal.retry_after))} if refusal.retry_after else {}


def is_coupon_refusal(refusal: Refusal) -> bool:
    return isinstance(refusal, _COUPON_REFUSALS)


def status_of(refusal: Refusal) -> tuple[int, str]:
    return status_and_code(refusal)


def refusal(refusal: Refusal) -> str:
    if isinstance(refusal, CouponVoid):
        return _("This coupon was withdrawn by the programme and cannot be collected.")
    if isinstance(refusal, CouponExpired):
        return _("This coupon has expired and cannot be collected.")
    if isinstance(refusal, CouponNotFound):
        return _("There is no coupon with this code.")
    if isinstance(refusal, IdempotencyKeyReused):
        return _("This was already sent once with other values. Check your wallet and payouts, then try again.")
    if isinstance(refusal, InsufficientPoints):
        return _("You do not have that many points. Ask for at most your balance.")
    if isinstance(refusal, InvalidOtp):
        return _("That code is wrong, expired or already used. Check the text message, or ask for a new code.")
    if isinstance(refusal, TooManyAttempts):
        return _("Too many wrong codes. Ask for a new code.")
    if isinstance(refusal, RateLimited):
        minutes = max(1, round((refusal.retry_after or 60) / 60))
        return ngettext(
            "Too many tries. Wait a minute and try again.",
            "Too many tries. Wait %(num)d minutes and try again.",
            minutes,
        )
    return _("Something went wrong. Try again.")
