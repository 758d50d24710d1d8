"""What each operator may do: one table, read by the API's operator routes and by the console.

Each named operator has one role (OPERATOR_ROLES); an operator not listed is `admin`, so a
deployment without the setting works as before. A route or a console action names the one
capability it needs; a role may use the capabilities its row lists.
"""

from __future__ import annotations

from collections.abc import Mapping

VIEWER, ISSUER, FINANCE, ADMIN = "viewer", "issuer", "finance", "admin"
ROLES = (VIEWER, ISSUER, FINANCE, ADMIN)
DEFAULT_ROLE = ADMIN

# The capabilities, as the contract's table of roles words them.
VIEW = "view"  # every GET of the operators' routes but the three that carry live tokens
TOKENS = "tokens"  # coupons.csv, sheet.pdf, qr.svg/qr.png: whoever holds a token can redeem it
ISSUE = "issue"  # POST /coupons/generate, voiding coupons and batches
FINANCE_ACTIONS = "finance"  # payouts.csv, approving and rejecting payouts, adjustments, reversals

MAY: dict[str, frozenset[str]] = {
    VIEWER: frozenset({VIEW}),
    ISSUER: frozenset({VIEW, TOKENS, ISSUE}),
    FINANCE: frozenset({VIEW, FINANCE_ACTIONS}),
    ADMIN: frozenset({VIEW, TOKENS, ISSUE, FINANCE_ACTIONS}),
}
CAPABILITIES = (VIEW, TOKENS, ISSUE, FINANCE_ACTIONS)


def may(role: str, capability: str) -> bool:
    return capability in MAY[role]


def roles_that_may(capability: str) -> list[str]:
    """The roles allowed `capability`, in the table's order (for a 403's detail)."""
    return [role for role in ROLES if capability in MAY[role]]


def role_of(operator: str, operator_roles: Mapping[str, str]) -> str:
    return operator_roles.get(operator, DEFAULT_ROLE)
