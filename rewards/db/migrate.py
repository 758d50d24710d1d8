"""Schema versions: numbered migration files per engine, applied by init-db in order.

A new database gets the readable schema of the current version in one step (`schema.sql`,
`schema.postgresql.sql`); an older one gets each migration after its version, each in a
transaction of its own with the version it reaches. A test holds the two paths to the same
tables, columns, constraints and indexes on both engines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import Backend, Schema

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class SchemaTooNew(Exception):
    """The database was made by a newer release than this one."""


@dataclass(frozen=True)
class Migration:
    version: int
    path: Path

    def script(self) -> str:
        return self.path.read_text(encoding="utf-8")


def migrations(engine: str) -> list[Migration]:
    found = []
    for path in sorted((MIGRATIONS / engine).glob("*.sql")):
        match = _NAME.match(path.name)
        if match:
            found.append(Migration(int(match.group(1)), path))
    return found


def latest_version(engine: str = "sqlite") -> int:
    return migrations(engine)[-1].version


def init_db(backend: Backend, *, reset: bool = False, upto: int | None = None) -> str:
    """Create, upgrade or leave the schema; return what was done, in words for the operator.
    `upto` stops at an earlier version (tests that build an old database)."""
    schema = backend.schema()
    target = latest_version(backend.name) if upto is None else upto
    where = backend.describe()
    conn = schema.open()
    try:
        if reset:
            schema.drop_everything(conn)
        found = schema.version(conn)
        if found == 0 and schema.is_empty(conn):
            if upto is None:
                schema.apply(conn, schema.fresh_schema.read_text(encoding="utf-8"), target)
            else:
                _upgrade(schema, conn, backend.name, 0, target)
            verb = "Reset" if reset else "Created"
            return f"{verb} the schema (version {target}) in the database at {where}"
        if found > latest_version(backend.name):
            raise SchemaTooNew(
                f"the database at {where} is at schema version {found}, newer than this release knows "
                f"({latest_version(backend.name)}); run a newer release"
            )
        if found >= target:
            return f"The database at {where} is already at schema version {found}; nothing changed"
        _upgrade(schema, conn, backend.name, found, target)
        return f"Upgraded the database at {where} from schema version {found} to {target}; every row kept"
    finally:
        conn.close()


def _upgrade(schema: Schema, conn: Any, engine: str, found: int, target: int) -> None:
    for migration in migrations(engine):
        if found < migration.version <= target:
            schema.apply(conn, migration.script(), migration.version)


def version_problem(backend: Backend) -> str | None:
    """Why a service must not start on this database, or None: a server that turns the
    connection away (a wrong password, an unknown database) or a schema of another release. An
    unreachable database is no reason: the service answers 503 until it is back."""
    schema = backend.schema()
    try:
        conn = schema.open_existing()
    except backend.driver_error as error:
        return backend.refusal(error)
    try:
        found = schema.version(conn)
    except backend.driver_error:
        return None
    finally:
        conn.close()
    needed = latest_version(backend.name)
    if found < needed:
        return (
            f"the database at {backend.describe()} is at schema version {found}, this release needs {needed}; "
            "run `flask --app app init-db` to upgrade it (every row is kept)"
        )
    if found > needed:
        return f"the database at {backend.describe()} is at schema version {found}, newer than this release ({needed})"
    return None
