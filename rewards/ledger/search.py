"""Customers found by the last digits of their phone: what a caller reads out to an operator
("the number ending 4321"), newest customers first, paged like the API's lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import paging
from ..db import Transaction

# The shortest ending worth a search (fewer would list a tenth or a hundredth of everyone), and
# the longest: an E.164 number has at most 15 digits.
MIN_DIGITS = 3
MAX_DIGITS = 15

# The last four characters of a phone, as the index users_by_phone_ending holds them: the same
# expression on both engines, so that either planner matches it to the index. Without it every
# search reads the whole table (bench/customers.py measures both; bench/ANALYSIS.md has the figures).
ENDING = "substr(phone, length(phone) - 3)"
# Three digits are ten four-digit endings. `digits` holds digits only (checked below), so the
# LIKE that checks the rest of a longer ending needs no escaping.
# (Parameter names are letters only: what the PostgreSQL backend's translation takes.)
NAMES = [f"ending_{letter}" for letter in "abcdefghij"]
STATEMENTS = {
    three: f"""
SELECT id, phone, balance, scans, created_at FROM users
WHERE {ENDING} {where} AND phone LIKE :pattern AND id < :before
ORDER BY id DESC LIMIT :limit
"""
    for three, where in (
        (True, "IN (" + ", ".join(f":{name}" for name in NAMES) + ")"),
        (False, f"= :{NAMES[0]}"),
    )
}


@dataclass(frozen=True)
class Customer:
    id: int
    phone: str
    points: int
    scans: int
    created_at: int


def _customer(row: Any) -> Customer:
    return Customer(row["id"], row["phone"], row["balance"], row["scans"], row["created_at"])


def users_ending_with(
    tx: Transaction, digits: str, limit: int, before: int | None
) -> tuple[list[Customer], int | None]:
    """A page of the customers whose phone ends with `digits`, newest first, and the `before`
    of the next page (None at the end)."""
    if not (digits.isascii() and digits.isdigit() and MIN_DIGITS <= len(digits) <= MAX_DIGITS):
        raise ValueError("digits must be 3 to 15 ASCII digits")
    three = len(digits) == 3
    endings = {name: f"{d}{digits}" for d, name in enumerate(NAMES)} if three else {NAMES[0]: digits[-4:]}
    params = {"pattern": "%" + digits, "before": paging.below(before), "limit": paging.fetch_size(limit)}
    rows = tx.all(STATEMENTS[three], params | endings)
    page, next_before = paging.split(rows, limit)
    return [_customer(row) for row in page], next_before
