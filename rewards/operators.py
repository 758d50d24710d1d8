"""The operator's console reads that belong to no single resource: GET /audit, GET /stats."""

from __future__ import annotations

from flask import Blueprint

from . import audit, clock, roles, stats
from .db import get_db
from .exceptions import InvalidRequest
from .http import validation
from .http.guards import require_operator

bp = Blueprint("operators", __name__)


@bp.get("/audit")
@require_operator(roles.VIEW)
def audit_log():
    limit, before = validation.page_params()
    action = validation.query_text("action", 32)
    if action is not None and action not in audit.ACTIONS:
        raise InvalidRequest(f"Query parameter 'action' must be one of {', '.join(audit.ACTIONS)}.")
    with get_db().snapshot() as tx:
        return audit.entries(tx, limit, before, action)


@bp.get("/stats")
@require_operator(roles.VIEW)
def programme_stats():
    with get_db().snapshot() as tx:
        return stats.stats(tx, clock.now())
