"""Who is calling: a bearer token naming a user, the operator's X-API-Key, or a page's session
cookie; and whether an operator's role allows what a route does (rewards/roles.py)."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

from flask import current_app, g, request

from .. import clock, roles
from ..auth.tokens import AccessClaims, InvalidToken, read_access_token
from ..db import Transaction, get_db
from ..exceptions import Forbidden, Refusal, Unauthorized
from . import validation

View = Callable[..., Any]

_BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="rewards"'}


_BEARER_USER = (
    "SELECT u.id, u.phone FROM users u JOIN database_instance d ON d.id = 1 WHERE u.id = ? AND d.instance = ?"
)


def bearer_claims() -> AccessClaims:
    """The claims of a valid bearer token (its signature and expiry checked, not yet that its user
    exists in this database: bearer_user, or a check of one's own in the same round trip as the
    work, as a PostgreSQL scan does), or a 401 problem."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send a bearer token: Authorization: Bearer <token>.", headers=_BEARER_CHALLENGE)
    try:
        return read_access_token(token.strip(), current_app.config["JWT_SECRET"])
    except InvalidToken:
        raise unknown_bearer() from None


def unknown_bearer() -> Unauthorized:
    """The 401 for a token that is well signed but names no user of this database: a deleted
    user, a database since reset or replaced, or a key leaked and used for an unknown id."""
    return Unauthorized("The bearer token is invalid or expired.", headers=_BEARER_CHALLENGE)


def bearer_user(claims: AccessClaims | None = None) -> dict[str, Any]:
    """The user row of a valid bearer token (its `claims` when already read), or a 401 problem."""
    claims = claims or bearer_claims()
    row = get_db().read(_BEARER_USER, (claims.user_id, claims.database))
    if row is None:
        raise unknown_bearer()
    return {"id": row["id"], "phone": row["phone"]}


@contextmanager
def bearer_before_refusals(claims: AccessClaims) -> Iterator[None]:
    """For a route that checks the bearer's user inside its own statement (issue #17) but reads
    its input before it: input the block refuses waits for the user's check, so a token of no
    user here answers 401, not the input's 400, as on every other route. The check costs a
    statement only on that path."""
    try:
        yield
    except Refusal:
        bearer_user(claims)
        raise


def check_bearer_later(tx: Transaction, claims: AccessClaims) -> None:
    """The bearer's user checked in `tx` with the next result it reads (Transaction.check_later):
    a 401 there when the token's user is not in this database."""
    tx.check_later(_BEARER_USER, (claims.user_id, claims.database), unknown_bearer())


def session_customer() -> dict[str, Any] | None:
    """The customer signed in on the pages (their session cookie), or None. Read once a request."""
    if "customer" not in g:
        from ..web import sessions

        found = sessions.find(get_db(), sessions.CUSTOMER, clock.now())
        g.customer = None if found is None else {"id": found.user_id}
    return g.customer


def operator() -> str | None:
    """The name of the operator whose key is in X-API-Key; None without the header; a present
    but wrong key is a 401."""
    given = request.headers.get("X-API-Key")
    if given is None:
        return None
    found = operator_for_key(given)
    if found is None:
        raise Unauthorized("The X-API-Key is wrong.")
    return found


def operator_for_key(given: str) -> str | None:
    """The name of the operator whose key `given` is, or None (X-API-Key and the console's
    sign-in check keys alike)."""
    given_bytes = given.encode("utf-8", "surrogateescape")
    found = None
    # Every key is compared, each in constant time, so response timing says nothing about
    # which key, or how much of one, a guess got right.
    for name, key in current_app.config["OPERATOR_KEYS"].items():
        if hmac.compare_digest(given_bytes, key.encode()):
            found = name
    return found


def require_user(view: Callable[..., Any]) -> Callable[..., Any]:
    """The view runs only for a valid bearer token; the user is `g.user`."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        g.user = bearer_user()
        return view(*args, **kwargs)

    return wrapped


def require_operator(capability: str) -> Callable[[View], View]:
    """The view runs only with an operator's X-API-Key whose role allows `capability`; the
    operator's name is `g.operator`."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            name = operator()
            if name is None:
                raise Unauthorized("This route needs an operator key in X-API-Key.")
            g.operator = _allowed(name, capability)
            return view(*args, **kwargs)

        return _needs(wrapped, capability)

    return decorate


def owner_or_operator(capability: str, what: str) -> Callable[[View], View]:
    """For a route under /users/<user_ref>/: an operator whose X-API-Key's role allows
    `capability`, or the user `user_ref` names, by their bearer token; another user is refused
    (403: "A user may read only their own `what`."). Who is asked first, then the path: a bad
    token is a 401 before a bad id's 400. The user's id is `g.user_id`; `g.operator` is the
    operator's name, or None for the user."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            name = operator()
            g.operator = None if name is None else _allowed(name, capability)
            caller = bearer_user() if name is None else None
            g.user_id = validation.id_in_path(kwargs["user_ref"], "user")
            if caller is not None and caller["id"] != g.user_id:
                raise Forbidden(f"A user may read only their own {what}.")
            return view(*args, **kwargs)

        return _needs(wrapped, capability)

    return decorate


def _allowed(name: str, capability: str) -> str:
    """`name`, when that operator's role allows `capability`; a 403 naming the roles that do
    otherwise. Checked before the view reads its body, so a refusal claims no Idempotency-Key,
    writes nothing and is not audited."""
    role = roles.role_of(name, current_app.config["OPERATOR_ROLES"])
    if not roles.may(role, capability):
        allowed = roles.roles_that_may(capability)
        needed = " or ".join([", ".join(allowed[:-1]), allowed[-1]] if len(allowed) > 1 else allowed)
        raise Forbidden(f"This needs the role {needed}; the operator {name} has the role {role}.")
    return name


def _needs(view: View, capability: str) -> View:
    # Kept on the view, so the test of roles reads off url_map what each route needs.
    view.operator_capability = capability  # type: ignore[attr-defined]
    return view
