"""Payouts: a user turns points into money; an operator approves or rejects the request."""
