"""Who is at the console: the operator of the request's console session, with the role
OPERATOR_ROLES gives them, and the capability each view needs (rewards/roles.py's table)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import current_app, g, redirect, render_template, url_for

from .. import audit, clock, roles
from ..db import Transaction, get_db
from ..web import sessions
from . import words


@dataclass(frozen=True)
class Operator:
    name: str
    role: str

    def may(self, capability: str) -> bool:
        return roles.may(self.role, capability)


def sign_in(tx: Transaction, name: str, now: int, ttl: int) -> str:
    """A console session for the operator `name`, audited; the id for its cookie."""
    raw = sessions.start(tx, sessions.OPERATOR, now, ttl, operator=name)
    audit.record(tx, name, "operator.sign_in", f"operator:{name}", None, {}, now)
    return raw


def sign_out(tx: Transaction, operator: Operator | None, now: int) -> None:
    """End the request's console session; audited when it named an operator still allowed in."""
    sessions.end(tx, sessions.OPERATOR)
    if operator is not None:
        audit.record(tx, operator.name, "operator.sign_out", f"operator:{operator.name}", None, {}, now)


def current_operator() -> Operator | None:
    """The signed-in operator, or None. Read once a request."""
    if "console_operator" not in g:
        found = sessions.find(get_db(), sessions.OPERATOR, clock.now())
        name = None if found is None else found.operator
        # A key taken out of the settings ends its holder's sessions too.
        if name is not None and name not in current_app.config["OPERATOR_KEYS"]:
            name = None
        g.console_operator = (
            None if name is None else Operator(name, roles.role_of(name, current_app.config["OPERATOR_ROLES"]))
        )
    return g.console_operator


def operator_for_error_page(status: int) -> Operator | None:
    """The operator, for the navigation of a console error page; None when the database is the
    trouble (a 5xx), so the error page never fails in its turn."""
    if status >= 500:
        return None
    try:
        return current_operator()
    except Exception:  # noqa: BLE001 (the page must still be drawn)
        return None


def forbidden(operator: Operator, capability: str) -> tuple[str, int]:
    page = render_template(
        "console/forbidden.html",
        operator=operator,
        needed=[words.in_words(role) for role in roles.roles_that_may(capability)],
    )
    return page, 403


def needs(capability: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The view runs for a signed-in operator whose role may `capability`, handed the operator
    first; anyone else goes to the sign-in page, and a role that may not gets the 403 page."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            operator = current_operator()
            if operator is None:
                return redirect(url_for("console.sign_in"), 303)
            if not operator.may(capability):
                return forbidden(operator, capability)
            return view(operator, *args, **kwargs)

        return wrapped

    return decorate
