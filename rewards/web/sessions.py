"""Sessions of the pages, kept on the server.

The browser holds a random id in an HttpOnly cookie; the database holds only its SHA-256, with
whose session it is and when it ends. Signing out deletes the row, so a copied cookie stops
working at once; so does the end of its lifetime, and init-db --reset, which drops the table.
A customer's cookie and an operator's have different names and paths, and each lookup names the
kind it wants: one never opens the other's pages.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from flask import Response, current_app, request

from ..db import Database, Transaction

CUSTOMER = "customer"
OPERATOR = "operator"
# (cookie name, cookie path) per kind: the name over plain http (development). Over https it
# carries the browser's prefix (cookie_of()).
COOKIES = {CUSTOMER: ("rewards_session", "/"), OPERATOR: ("rewards_console", "/console")}
# One sign-in in this many also deletes everyone's ended sessions, so the table stays the size
# of the live ones without a cron job.
PURGE_ONE_IN = 64


@dataclass(frozen=True)
class WebSession:
    kind: str
    user_id: int | None
    operator: str | None
    expires_at: int


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogateescape")).hexdigest()


def start(
    tx: Transaction, kind: str, now: int, ttl: int, *, user_id: int | None = None, operator: str | None = None
) -> str:
    """A new session; returns the id for the cookie (never stored as it is)."""
    raw = secrets.token_urlsafe(32)
    tx.execute(
        "INSERT INTO web_sessions (id_hash, kind, user_id, operator, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
        (_hash(raw), kind, user_id, operator, now, now + ttl),
    )
    if secrets.randbelow(PURGE_ONE_IN) == 0:
        tx.execute("DELETE FROM web_sessions WHERE expires_at <= ?", (now,))
    return raw


def find(db: Database, kind: str, now: int) -> WebSession | None:
    """The live session of this kind that the request's cookie names, or None."""
    raw = request.cookies.get(cookie_of(kind)[0])
    if not raw or len(raw) > 100:
        return None
    row = db.read(
        "SELECT kind, user_id, operator, expires_at FROM web_sessions WHERE id_hash = ? AND kind = ? AND expires_at > ?",
        (_hash(raw), kind, now),
    )
    if row is None:
        return None
    return WebSession(row["kind"], row["user_id"], row["operator"], row["expires_at"])


def end(tx: Transaction, kind: str) -> None:
    """Delete the session the request's cookie names, if any."""
    raw = request.cookies.get(cookie_of(kind)[0])
    if raw and len(raw) <= 100:
        tx.execute("DELETE FROM web_sessions WHERE id_hash = ? AND kind = ?", (_hash(raw), kind))


def set_cookie(response: Response, kind: str, raw: str, ttl: int) -> None:
    name, path = cookie_of(kind)
    response.set_cookie(name, raw, max_age=ttl, path=path, httponly=True, samesite="Lax", secure=secure_cookies())


def clear_cookie(response: Response, kind: str) -> None:
    name, path = cookie_of(kind)
    response.delete_cookie(name, path=path, httponly=True, samesite="Lax", secure=secure_cookies())


def over_https(config: dict[str, Any]) -> bool:
    """Every cookie of the pages is Secure when people reach the service over https."""
    return config["PUBLIC_URL"].startswith("https://")


def secure_cookies() -> bool:
    return over_https(current_app.config)


def prefixed(name: str, path: str, secure: bool) -> str:
    """A credential cookie's name. Over https it is prefixed, and the browser then takes the
    cookie only as Secure and, for `__Host-`, only from this very host with the path / (no
    Domain): a page on a sibling subdomain, or one faked on plain http, cannot plant one of its
    choosing. A cookie of a narrower path (the console's) can only be `__Secure-`."""
    if not secure:
        return name
    return f"{'__Host-' if path == '/' else '__Secure-'}{name}"


def cookie_of(kind: str) -> tuple[str, str]:
    """The (name, path) of a kind's session cookie."""
    name, path = COOKIES[kind]
    return prefixed(name, path, secure_cookies()), path
