"""The operator's console (/console): the programme run from a browser, each action the API's own."""

# Each module puts its views on the one blueprint; importing them here is what registers them.
from . import audit, batches, coupons, customers, payouts, routes  # noqa: F401
from .blueprint import bp

__all__ = ["bp"]
