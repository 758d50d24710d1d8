"""The ledger: the one writer of balances, and how a wallet reads it.

Every change of a balance is one ledger entry written together with the balance, inside the
caller's transaction; nothing else in the service touches `balance`. So
SUM(ledger_entries.points) = users.balance always holds, and a balance never goes below zero:
a debit that would take it there is refused before anything is written (and the schema refuses
it too, should the code ever try).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from .. import audit, clock, paging, stats
from ..db import Database, Transaction
from ..exceptions import InsufficientPoints, UserNotFound

KINDS = ("scan", "reversal", "adjustment", "payout", "payout_refund")
MAX_ADJUSTMENT = 1_000_000_000

_ENTRY_COLUMNS = "l.id, l.kind, l.points, c.token AS coupon_token, l.payout_id, l.reason, l.created_at"
_ENTRY_JOINS = "LEFT JOIN scans s ON s.id = l.scan_id LEFT JOIN coupons c ON c.id = s.coupon_id"
_ENTRY = f"SELECT {_ENTRY_COLUMNS} FROM ledger_entries l {_ENTRY_JOINS}"

# A wallet page: the user's entries below `before`, newest first, read from ledger_by_user
# (user_id, id) on either engine, in SQL of each engine's own. With `user_id = ?` PostgreSQL
# treats user_id as a constant, so the primary key's order looks as good as the index's, and
# for a user who owns most rows it walks the primary key past every newer row of everyone else
# (1.6 ms instead of 0.09 at 20,000 rows, growing with the others' rows; bench/RESULTS.md). A
# row comparison leaves ledger_by_user the only way to that order. SQLite 3.40 cannot
# range-scan a row comparison (4-9 ms for a page deep in 100,000 rows), and its equality is
# 0.06 ms.
_PAGE_POSTGRESQL = (
    " WHERE (l.user_id, l.id) > (:user, 0) AND (l.user_id, l.id) < (:user, :before)"
    " ORDER BY l.user_id DESC, l.id DESC LIMIT :limit"
)


@dataclass(frozen=True)
class Posted:
    entry_id: int
    balance: int


def post_entry(
    tx: Transaction,
    user_id: int,
    kind: str,
    points: int,
    now: int,
    *,
    scan_id: int | None = None,
    payout_id: int | None = None,
    reason: str | None = None,
    scans: int = 0,
) -> Posted:
    """Append a ledger entry and move the balance (and the count of standing scans) by it.
    InsufficientPoints when the balance would go below zero. The balance's row is locked by
    its UPDATE, so concurrent debits of one user are checked one after another."""
    entry = tx.execute(
        "INSERT INTO ledger_entries (user_id, kind, points, scan_id, payout_id, reason, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (user_id, kind, points, scan_id, payout_id, reason, now),
    )
    # Both statements travel in one round trip on PostgreSQL: the first result is read last.
    balance = tx.scalar(
        "UPDATE users SET balance = balance + :points, scans = scans + :scans "
        "WHERE id = :user AND balance + :points >= 0 RETURNING balance",
        {"points": points, "scans": scans, "user": user_id},
    )
    # Read even when refused: on SQLite an unread statement would keep the transaction from
    # rolling back to its savepoint.
    entry_id = entry.fetchone()[0]
    if balance is None:
        raise InsufficientPoints("The balance would go below zero: those points are spent or held.")
    return Posted(entry_id, balance)


class Entry(NamedTuple):
    """One change of a balance (a transaction, as the wallet calls it). A named tuple, not a
    frozen dataclass: made straight from its row, 0.9 µs instead of 3 per entry of a wallet
    page (issue #17). The columns of _ENTRY are its fields, in order."""

    id: int
    kind: str
    points: int
    coupon_token: str | None
    payout_id: int | None
    reason: str | None
    created_at: int


@dataclass(frozen=True)
class Wallet:
    user_id: int
    phone: str
    points: int
    scans: int
    entries: list[Entry]
    next_before: int | None


def _entry(row: Any) -> Entry:
    return Entry._make(row)


def entry_json(entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "kind": entry.kind,
        "points": entry.points,
        "coupon_token": entry.coupon_token,
        "payout_id": entry.payout_id,
        "reason": entry.reason,
        "created_at": clock.to_rfc3339(entry.created_at),
    }


def entry_view(tx: Transaction, entry_id: int) -> dict[str, Any]:
    return entry_json(_entry(tx.one(_ENTRY + " WHERE l.id = ?", (entry_id,))))


# A wallet page in one statement (issue #17): the user's row beside each entry of the page
# (once, with no entry, on an empty page). One statement is one snapshot, so balance and ledger
# agree. The bearer's own adds that the token names this database: no row otherwise.
def _wallet_statement(engine: str, *, token_checked: bool) -> str:
    users = "FROM users u " + (
        "JOIN database_instance d ON d.id = 1 AND d.instance = :instance " if token_checked else ""
    )
    if engine == "sqlite":
        # The entries joined straight to the one user row: SQLite reads them in ledger_by_user's
        # order and stops at the limit, with no subquery to materialise and no sort (31 µs
        # instead of 58 for a page of 10; bench/ANALYSIS.md).
        return (
            f"SELECT u.id AS user_id, u.phone, u.balance, u.scans, {_ENTRY_COLUMNS} {users}"
            f"LEFT JOIN ledger_entries l ON l.user_id = u.id AND l.id < :before {_ENTRY_JOINS} "
            "WHERE u.id = :user ORDER BY l.id DESC LIMIT :limit"
        )
    # PostgreSQL keeps only the outer side's order through a nested loop: joined straight, it
    # would sort every entry the user has. The page is cut inside, and only its rows sorted.
    return (
        f"SELECT u.id AS user_id, u.phone, u.balance, u.scans, e.* {users}"
        f"LEFT JOIN ({_ENTRY}{_PAGE_POSTGRESQL}) e ON true WHERE u.id = :user ORDER BY e.id DESC"
    )


_ENGINES = ("sqlite", "postgresql")
WALLET = {engine: _wallet_statement(engine, token_checked=False) for engine in _ENGINES}
OWN_WALLET = {engine: _wallet_statement(engine, token_checked=True) for engine in _ENGINES}


def wallet(tx: Transaction, user_id: int, limit: int, before: int | None) -> Wallet:
    """A page of the wallet, or UserNotFound."""
    found = _wallet(tx.all(WALLET[tx.backend.name], _page_params(user_id, limit, before)), limit)
    if found is None:
        raise UserNotFound("No user has that id.")
    return found


def own_wallet(db: Database, user_id: int, instance: str, limit: int, before: int | None) -> Wallet | None:
    """A page of the wallet of the user a bearer token names, or None when this database
    (`instance`, the token's) has no such user."""
    rows = db.read_all(OWN_WALLET[db.backend.name], {**_page_params(user_id, limit, before), "instance": instance})
    return _wallet(rows, limit)


def _page_params(user_id: int, limit: int, before: int | None) -> dict[str, Any]:
    return {"user": user_id, "before": paging.below(before), "limit": paging.fetch_size(limit)}


def _wallet(rows: list[Any], limit: int) -> Wallet | None:
    """The wallet of _wallet_statement()'s rows; None without any (no such user)."""
    if not rows:
        return None
    user = rows[0]
    page, next_before = paging.split(rows if user["id"] is not None else [], limit)
    return Wallet(
        user["user_id"], user["phone"], user["balance"], user["scans"], [_entry(row[4:]) for row in page], next_before
    )


def wallet_json(found: Wallet) -> dict[str, Any]:
    return {
        "user_id": found.user_id,
        "phone": found.phone,
        "points": found.points,
        "scans": found.scans,
        "transactions": [entry_json(entry) for entry in found.entries],
        "next_before": found.next_before,
    }


def read_wallet(tx: Transaction, user_id: int, limit: int, before: int | None) -> dict[str, Any]:
    return wallet_json(wallet(tx, user_id, limit, before))


def find_user(tx: Transaction, phone: str) -> dict[str, Any]:
    """A customer as an operator finds them by phone, or UserNotFound."""
    user = tx.one("SELECT id, phone, balance, scans, created_at FROM users WHERE phone = ?", (phone,))
    if user is None:
        raise UserNotFound("No user has that phone.")
    return {
        "user_id": user["id"],
        "phone": user["phone"],
        "points": user["balance"],
        "scans": user["scans"],
        "created_at": clock.to_rfc3339(user["created_at"]),
    }


def user_exists(tx: Transaction, user_id: int) -> None:
    """UserNotFound unless a user has this id."""
    if tx.one("SELECT 1 FROM users WHERE id = ?", (user_id,)) is None:
        raise UserNotFound("No user has that id.")


def adjust(tx: Transaction, operator: str, user_id: int, points: int, reason: str, now: int) -> dict[str, Any]:
    """An operator's correction of a balance, up or down (never below zero), audited."""
    user_exists(tx, user_id)
    posted = post_entry(tx, user_id, "adjustment", points, now, reason=reason)
    stats.add(tx, stats.ADJUSTED, points)
    audit.record(
        tx, operator, "user.adjust", f"user:{user_id}", reason, {"points": points, "balance": posted.balance}, now
    )
    return {"transaction": entry_view(tx, posted.entry_id), "balance": posted.balance}
