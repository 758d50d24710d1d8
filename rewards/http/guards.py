"""Who is calling: a bearer token naming a user, or the operator's X-API-Key."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, g, request

from ..auth.tokens import InvalidToken, read_access_token
from ..db import get_db
from ..exceptions import Unauthorized

_BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="rewards"'}


def bearer_user() -> dict[str, Any]:
    """The user row of a valid bearer token, or a 401 problem."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send a bearer token: Authorization: Bearer <token>.", headers=_BEARER_CHALLENGE)
    try:
        claims = read_access_token(token.strip(), current_app.config["JWT_SECRET"])
    except InvalidToken:
        raise Unauthorized("The bearer token is invalid or expired.", headers=_BEARER_CHALLENGE) from None
    row = get_db().read(
        "SELECT u.id, u.phone FROM users u JOIN database_instance d ON d.id = 1 WHERE u.id = ? AND d.instance = ?",
        (claims.user_id, claims.database),
    )
    if row is None:
        # A token for a deleted user, for a database since reset or replaced, or forged with a
        # leaked key for an unknown id.
        raise Unauthorized("The bearer token is invalid or expired.", headers=_BEARER_CHALLENGE)
    return {"id": row["id"], "phone": row["phone"]}


def has_admin_key() -> bool:
    """True when X-API-Key is present and right; a present but wrong key is a 401."""
    given = request.headers.get("X-API-Key")
    if given is None:
        return False
    expected = current_app.config["ADMIN_API_KEY"]
    # Constant time, so response timing says nothing about how much of a guess was right.
    if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode()):
        raise Unauthorized("The X-API-Key is wrong.")
    return True


def require_user(view: Callable[..., Any]) -> Callable[..., Any]:
    """The view runs only for a valid bearer token; the user is `g.user`."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        g.user = bearer_user()
        return view(*args, **kwargs)

    return wrapped


def require_admin(view: Callable[..., Any]) -> Callable[..., Any]:
    """The view runs only with the right X-API-Key."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not has_admin_key():
            raise Unauthorized("This route needs the operator key in X-API-Key.")
        return view(*args, **kwargs)

    return wrapped
