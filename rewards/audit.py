"""The audit log: every change an operator makes, with who, why and what, written in the same
transaction as the change itself, so there is never one without the other. Append-only: the
schema's triggers refuse UPDATE and DELETE, and no route changes it."""

from __future__ import annotations

import json
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


# Two fixed statements, keyed by whether an action is given, rather than
# `CAST(? AS TEXT) IS NULL OR action = ?`: with that form SQLite never uses audit_by_action, and
# a rare action was found by walking the whole log (bench/lists.py has the figures).
_SELECT = "SELECT id, at, operator, action, target, reason, details FROM audit_log"
PAGE_STATEMENTS = {
    False: f"{_SELECT} WHERE id < :before ORDER BY id DESC LIMIT :limit",
    True: f"{_SELECT} WHERE action = :action AND id < :before ORDER BY id DESC LIMIT :limit",
}


def entries(tx: Transaction, limit: int, before: int | None, action: str | None) -> dict[str, Any]:
    """A page of entries, newest first."""
    rows = tx.all(
        PAGE_STATEMENTS[action is not None],
        {"action": action, "before": paging.below(before), "limit": paging.fetch_size(limit)},
    )
    page, next_before = paging.split(rows, limit)
    return {
        "entries": [
            {
                "id": row["id"],
                "at": clock.to_rfc3339(row["at"]),
                "operator": row["operator"],
                "action": row["action"],
                "target": row["target"],
                "reason": row["reason"],
                "details": json.loads(row["details"]),
            }
            for row in page
        ],
        "next_before": next_before,
    }
