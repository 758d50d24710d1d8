"""Why the service refuses something, as exceptions that know nothing of HTTP.

Services, guards and validation raise these; `errors.py` holds the one table that maps each to
a status and the contract's code, and builds every problem body.
"""

from __future__ import annotations


class Refusal(Exception):
    """A refusal the caller is told about: `detail` is for people, never internals."""

    def __init__(self, detail: str, *, retry_after: int | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after
        self.headers = headers or {}


# The request itself
class InvalidRequest(Refusal):
    """A body or parameter that is missing, of the wrong type or out of range."""


class UnsupportedMediaType(Refusal):
    """A body that is not application/json."""


class Unauthorized(Refusal):
    """Credentials missing or wrong."""


class Forbidden(Refusal):
    """Authenticated, but not allowed."""


class RateLimited(Refusal):
    """A rate limit was hit; `retry_after` seconds until its window reopens."""


# Logins
class InvalidOtp(Refusal):
    """A wrong, expired or used code, or none was requested."""


class TooManyAttempts(Refusal):
    """The code is burned by OTP_MAX_ATTEMPTS wrong guesses."""


class OtpDeliveryFailed(Refusal):
    """The SMS gateway failed or timed out; the code is not usable."""


# Coupons and users
class CouponNotFound(Refusal):
    pass


class CouponAlreadyRedeemed(Refusal):
    pass


class CouponExpired(Refusal):
    pass


class CouponVoid(Refusal):
    """An operator voided the coupon or its batch."""


class UserNotFound(Refusal):
    pass


class BatchNotFound(Refusal):
    pass


# Points: scans taken back, payouts, retries
class ScanNotFound(Refusal):
    pass


class ScanAlreadyReversed(Refusal):
    pass


class InsufficientPoints(Refusal):
    """The change would take a balance below zero."""


class PayoutNotFound(Refusal):
    pass


class PayoutNotPending(Refusal):
    """The payout was approved or rejected already."""


class IdempotencyKeyReused(Refusal):
    """An Idempotency-Key sent again with another method, path or body."""


# The database
class DatabaseUnavailable(Refusal):
    """Missing, unreachable, busy past its timeout, read-only or full: try again shortly."""

    def __init__(self, reason: str) -> None:
        # The reason is for the log; the caller gets a fixed detail.
        super().__init__("The database is unavailable right now; try again shortly.", retry_after=1)
        self.reason = reason
