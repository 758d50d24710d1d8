"""The console's audit log: the entries newest first, filtered by action and by operator (what
GET /audit lists, from the same fixed statements)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_babel import gettext as _

from .. import audit, clock
from ..db import get_db
from ..exceptions import InvalidRequest
from ..http import validation
from ..roles import VIEW
from ..web.formatting import when
from .access import Operator, needs
from .blueprint import bp

# A detail the log keeps as nothing (a batch never voided, never expiring).
NOTHING = "—"
# Longer than any operator's name the settings accept; a longer filter matches nobody anyway.
MAX_OPERATOR = 100


@bp.get("/audit")
@needs(VIEW)
def audit_log(operator: Operator):
    action = request.args.get("action", "").strip() or None
    named = request.args.get("operator", "").strip() or None
    error = None
    if action is not None and action not in audit.ACTIONS:
        error = _("Choose an action from the list.")
    elif named is not None and (len(named) > MAX_OPERATOR or not validation.storable(named)):
        error = _("An operator's name is at most %(max)s characters.", max=MAX_OPERATOR)
    if error is not None:
        return _page(operator, [], None, action=None, named=request.args.get("operator", ""), error=error), 400
    try:
        limit, before = validation.page_params()
    except InvalidRequest:
        return _page(
            operator, [], None, action=action, named=named, error=_("That page address is not one of ours.")
        ), 400
    with get_db().snapshot() as tx:
        entries, next_before = audit.list_entries(tx, limit, before, action, named)
    return _page(operator, entries, next_before, action=action, named=named, error=None)


def _page(operator: Operator, entries, next_before, *, action, named, error):
    return render_template(
        "console/audit.html",
        operator=operator,
        entries=entries,
        next_before=next_before,
        actions=audit.ACTIONS,
        shown_details=shown_details,
        action=action,
        named=named or "",
        error=error,
    )


def shown_details(details: dict[str, Any]) -> list[tuple[str, str]]:
    """An entry's details as a person reads them: the times the log keeps in RFC 3339 (the
    fields named *_at) in the page's language, a null as a dash; the rest as logged."""
    shown = []
    for name, value in details.items():
        if value is None:
            value = NOTHING
        elif name.endswith("_at") and isinstance(value, str):
            try:
                value = when(clock.parse_rfc3339(value))
            except ValueError:
                pass  # not a time after all: shown as logged
        shown.append((name, str(value)))
    return shown
