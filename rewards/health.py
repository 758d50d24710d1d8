"""GET /health and GET /version."""

from __future__ import annotations

import logging
import os
import sqlite3

from flask import Blueprint, current_app

from .db import SCHEMA_VERSION, DatabaseUnavailable, get_db, schema_version
from .transactions import begin_immediate
from .version import __version__

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)

# Below this much free space a redemption may fail half-way through its commit; say so early.
MIN_FREE_BYTES = 1 << 20


def database_problem() -> str | None:
    """Why the database cannot take a redemption now, or None when it can."""
    try:
        conn = get_db()
        if schema_version(conn) != SCHEMA_VERSION:
            return "schema missing or of another version; run init-db"
        # Takes and drops the write lock: fails when the file is read-only or locked past
        # DATABASE_BUSY_TIMEOUT_MS, and writes nothing.
        begin_immediate(conn)
        conn.execute("ROLLBACK")
        disk = os.statvfs(os.path.dirname(current_app.config["DATABASE_PATH"]))
        if disk.f_bavail * disk.f_frsize < MIN_FREE_BYTES:
            return "disk almost full"
    except DatabaseUnavailable as error:
        return str(error)
    except OSError as error:
        return type(error).__name__
    except sqlite3.Error as error:
        return getattr(error, "sqlite_errorname", type(error).__name__)
    return None


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
