"""GET /health and GET /version."""

from __future__ import annotations

import logging

from flask import Blueprint

from .db import get_db
from .db.migrate import latest_version
from .exceptions import DatabaseUnavailable
from .version import __version__

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


def database_problem() -> str | None:
    """Why the database cannot take a redemption now, or None when it can."""
    db = get_db()
    try:
        conn = db.connection()
        found = db.backend.schema().version(conn)
        if found != latest_version(db.backend.name):
            return f"schema version {found}, this release needs {latest_version(db.backend.name)}; run init-db"
        return db.backend.unavailable_reason(conn)
    except DatabaseUnavailable as error:
        return error.reason
    except OSError as error:
        return type(error).__name__
    except db.backend.driver_error as error:
        db.end_request()
        return type(error).__name__


@bp.get("/health")
def health():
    problem = database_problem()
    if problem is not None:
        log.warning("health check failed: %s", problem)
        return {"status": "unavailable"}, 503, {"Retry-After": "1"}
    return {"status": "ok"}


@bp.get("/version")
def version():
    return {"name": "rewards", "version": __version__}
