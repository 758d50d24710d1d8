"""The audit log: every change an operator makes, with who, why and what, written in the same
transaction as the change itself, so there is never one without the other. Append-only: the
schema's triggers refuse UPDATE and DELETE, and no route changes it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from . import clock, paging
from .db import Transaction

# The operator name of shell commands (gen-coupons, void-batch).
CLI_OPERATOR = "cli"

ACTIONS = (
    "batch.create",
    "batch.void",
    "coupon.void",
    "scan.reverse",
    "user.adjust",
    "payout.approve",
    "payout.reject",
    "operator.sign_in",
    "operator.sign_out",
)


def record(
    tx: Transaction, operator: str, action: str, target: str, reason: str | None, details: dict[str, Any], now: int
) -> None:
    assert action in ACTIONS, action
    tx.execute(
        "INSERT INTO audit_log (at, operator, action, target, reason, details) VALUES (?, ?, ?, ?, ?, ?)",
        (now, operator, action, target, reason, json.dumps(details, separators=(",", ":"))),
    )


# One fixed statement per filter, keyed by (action given, operator given), rather than
# `CAST(? AS TEXT) IS NULL OR action = ?`: with that form SQLite never uses audit_by_action, and
# a rare action was found by walking the whole log (bench/lists.py has the figures). The
# console's filter by operator reads audit_by_operator the same way.
_SELECT = "SELECT id, at, operator, action, target, reason, details FROM audit_log"
PAGE_STATEMENTS = {
    (action, operator): f"{_SELECT} WHERE {where} ORDER BY id DESC LIMIT :limit"
    for (action, operator), where in {
        (False, False): "id < :before",
        (True, False): "action = :action AND id < :before",
        (False, True): "operator = :operator AND id < :before",
        (True, True): "operator = :operator AND action = :action AND id < :before",
    }.items()
}


@dataclass(frozen=True)
class Entry:
    id: int
    at: int
    operator: str
    action: str
    target: str
    reason: str | None
    details: dict[str, Any]


def list_entries(
    tx: Transaction, limit: int, before: int | None, action: str | None, operator: str | None = None
) -> tuple[list[Entry], int | None]:
    """A page of entries newest first, of one action and one operator when given, and the
    `before` of the next page."""
    rows = tx.all(
        PAGE_STATEMENTS[action is not None, operator is not None],
        {"action": action, "operator": operator, "before": paging.below(before), "limit": paging.fetch_size(limit)},
    )
    page, next_before = paging.split(rows, limit)
    found = [
        Entry(
            row["id"],
            row["at"],
            row["operator"],
            row["action"],
            row["target"],
            row["reason"],
            json.loads(row["details"]),
        )
        for row in page
    ]
    return found, next_before


def entry_json(entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": clock.to_rfc3339(entry.at),
        "operator": entry.operator,
        "action": entry.action,
        "target": entry.target,
        "reason": entry.reason,
        "details": entry.details,
    }


def entries(
    tx: Transaction, limit: int, before: int | None, action: str | None, operator: str | None = None
) -> dict[str, Any]:
    """A page of entries, newest first, as GET /audit answers it."""
    found, next_before = list_entries(tx, limit, before, action, operator)
    return {"entries": [entry_json(entry) for entry in found], "next_before": next_before}
