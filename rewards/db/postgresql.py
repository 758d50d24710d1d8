"""PostgreSQL through psycopg 3: the engine for several app hosts on one database.

Under READ COMMITTED a read followed by a write must lock what it read, so the shared SQL says
`FOR UPDATE` where it matters; the UNIQUE indexes stand behind it. A statement that fails
aborts the whole transaction here (a later COMMIT silently rolls back), so the services avoid
expected errors altogether (`ON CONFLICT DO NOTHING`) instead of catching them.
"""

from __future__ import annotations

import re
import select
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import sql as pgsql
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus
from psycopg.rows import tuple_row

# SQLSTATE classes and codes that mean "the database cannot serve this now": connection
# exceptions (08), insufficient resources such as a full disk (53), operator intervention
# such as a shutdown (57), a lock not had within lock_timeout (55P03), a read-only server
# (25006), and serialisation failures and deadlocks (40001, 40P01), which a retry resolves.
_UNAVAILABLE_CLASSES = ("08", "53", "57")
_UNAVAILABLE_CODES = frozenset({"55P03", "25006", "40001", "40P01"})
_PLACEHOLDER = re.compile(r"'[^']*'|(?<!:):([a-z_]+)\b|\?|%")
# What a server says when it answers a connection and turns it away for good (a wrong password,
# an unknown user or database, no pg_hba.conf entry), as against a server that is down, starting
# or full, which the service waits out with 503s. libpq gives no SQLSTATE for these: only text.
_SERVER_SAYS = re.compile(r"FATAL:\s+(.+)")
_REFUSALS = re.compile(
    r"authentication failed|does not exist|no pg_hba\.conf entry|not permitted to log in|permission denied"
    r"|does not have CONNECT privilege"
)
UNREADABLE_URL = (
    "cannot be read as a PostgreSQL URL (postgresql://user:password@host:5432/dbname); "
    "a / @ ? # or % in the user name or password must be percent-encoded (%2F %40 %3F %23 %25)"
)
CONNECT_TIMEOUT_SECONDS = 5
STREAM_CHUNK = 2000


class Row(tuple):
    """A row readable by position or by column name, like sqlite3.Row, so services and tests
    read rows the same way on both engines."""

    __slots__ = ()
    names: dict[str, int] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self.names)


def _row_factory(cursor: psycopg.Cursor) -> Any:
    if cursor.description is None:
        return tuple
    return _row_type(tuple(column.name for column in cursor.description))


@lru_cache(maxsize=1024)
def _row_type(names: tuple[str, ...]) -> type[Row]:
    # One class per shape of result, not per statement run: making a class costs about 10 µs,
    # a statement's own CPU on the client often less (issue #17). The statements are fixed, so
    # their shapes are few.
    return type("Row", (Row,), {"__slots__": (), "names": {name: i for i, name in enumerate(names)}})


class PostgresBackend:
    name = "postgresql"
    server_csv = True
    redeems_in_one_call = True
    driver_error = psycopg.Error

    def __init__(self, url: str, lock_timeout_ms: int) -> None:
        self.url = url
        self.lock_timeout_ms = lock_timeout_ms

    def describe(self) -> str:
        return describe_url(self.url)

    def connect(self) -> psycopg.Connection:
        return connect(self.url, self.lock_timeout_ms)

    def schema(self) -> PostgresSchema:
        return PostgresSchema(self)

    def still_usable(self, conn: psycopg.Connection) -> bool:
        if conn.closed or conn.broken:
            return False
        # Between requests an idle connection has nothing to read. If it has, the server has
        # closed it or said why (a restart, a terminated backend): replace it now rather than
        # fail this request with it.
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
        return not readable

    def translate(self, sql: str) -> str:
        return _translate(sql)

    def begin_write(self, conn: psycopg.Connection, *, pipelined: bool = False) -> None:
        if pipelined:
            # Pipeline mode: a statement whose result is not read (BEGIN, SAVEPOINT, an UPDATE
            # without RETURNING) travels with the next one that is: a scan's 12 round trips
            # become 6 (bench/RESULTS.md, issue #17). Only for transactions that ask: COPY and
            # server-side cursors (batch builds, exports) cannot run in a pipeline.
            # conn.pipeline() is a generator's context manager: kept here, or its collection
            # leaves pipeline mode at once (which it silently did until issue #17 counted).
            entered = conn.pipeline()
            entered.__enter__()
            conn.rewards_pipeline = entered
        conn.execute("BEGIN")

    def commit(self, conn: psycopg.Connection) -> None:
        try:
            conn.execute("COMMIT")
        finally:
            _leave_pipeline(conn)

    def rollback(self, conn: psycopg.Connection) -> None:
        _leave_pipeline(conn, discard=True)
        if self.in_transaction(conn):
            conn.execute("ROLLBACK")

    def begin_snapshot(self, conn: psycopg.Connection) -> None:
        # Under READ COMMITTED each SELECT sees its own moment: a balance and its ledger read
        # one after the other could disagree.
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def refusal(self, error: Exception) -> str | None:
        """The server's own reason when it answered and refused the connection for good, the
        password left out; None when no server answered (down, unreachable) or it will serve
        again by itself (starting up, too many clients)."""
        if not isinstance(error, psycopg.OperationalError):
            return None
        message = str(error)
        said = _SERVER_SAYS.search(message)
        reason = said.group(1).strip() if said else ""
        if not _REFUSALS.search(reason):
            if "no password supplied" not in message:
                return None
            reason = "the server asks for a password and DATABASE_URL gives none"
        password = unquote(urlsplit(self.url).password or "")
        if password:
            reason = reason.replace(password, "***")
        return f"the PostgreSQL server at {self.describe()} refused the connection: {reason}"

    def in_transaction(self, conn: psycopg.Connection) -> bool:
        return conn.info.transaction_status != TransactionStatus.IDLE

    def is_unavailable(self, error: Exception) -> bool:
        state = getattr(error, "sqlstate", None)
        if state is None:
            # Could not connect, or the connection died under us: no server answer to classify.
            return isinstance(error, psycopg.OperationalError | psycopg.InterfaceError)
        return state[:2] in _UNAVAILABLE_CLASSES or state in _UNAVAILABLE_CODES

    def insert_coupons(self, conn: psycopg.Connection, batch_id: int, tokens: Sequence[str]) -> None:
        # COPY streams the rows in one statement: the bulk path PostgreSQL is built for.
        with conn.cursor() as cursor, cursor.copy("COPY coupons (token, batch_id) FROM STDIN") as copy:
            for token in tokens:
                copy.write_row((token, batch_id))

    def stream(self, conn: psycopg.Connection, sql: str, params: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        # A server-side cursor: the server hands rows over a chunk at a time instead of the
        # driver holding all of them. It lives in the caller's transaction.
        with conn.cursor(name="rewards_stream", row_factory=tuple_row) as cursor:
            cursor.itersize = STREAM_CHUNK
            cursor.execute(sql, params)
            yield from cursor

    def copy_csv(self, conn: psycopg.Connection, sql: str, params: dict[str, Any]) -> Iterator[bytes]:
        # COPY TO STDOUT: the server writes the CSV, one message per row; they are gathered
        # into chunks of about 64 kB so the response is not written a line at a time.
        chunk = bytearray()
        with conn.cursor() as cursor, cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
            for row in copy:
                chunk += row
                if len(chunk) >= 65_536:
                    yield bytes(chunk)
                    chunk.clear()
        yield bytes(chunk)

    def claim_build(self, conn: psycopg.Connection, key: int) -> bool:
        """Take the session advisory lock of the batch build `key`, if no live session holds
        it. The server drops it when the builder's session ends, however it ends."""
        return conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]

    def release_build(self, conn: psycopg.Connection, key: int) -> None:
        conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def unavailable_reason(self, conn: psycopg.Connection) -> str | None:
        if conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
            return "the server is a read-only standby"
        return None


def _leave_pipeline(conn: psycopg.Connection, *, discard: bool = False) -> None:
    """End the connection's pipeline, sending what is queued and reading every result; an
    error from a queued statement is raised here (unless `discard`, on the way to a ROLLBACK)."""
    entered = getattr(conn, "rewards_pipeline", None)
    if entered is None:
        return
    conn.rewards_pipeline = None
    try:
        entered.__exit__(None, None, None)
    except psycopg.Error:
        if not discard:
            raise


@lru_cache(maxsize=512)
def _translate(sql: str) -> str:
    """`?` -> `%s`, `:name` -> `%(name)s`, a literal `%` -> `%%`; string literals untouched."""

    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        if text.startswith("'"):
            return text
        if text == "?":
            return "%s"
        if text == "%":
            return "%%"
        return f"%({match.group(1)})s"

    return _PLACEHOLDER.sub(replace, sql)


def connect(url: str, lock_timeout_ms: int = 5000) -> psycopg.Connection:
    conn = psycopg.connect(
        url,
        # BEGIN and COMMIT are ours, as on SQLite.
        autocommit=True,
        row_factory=_row_factory,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        # A request waits this long for a row lock before it answers 503, as SQLite's writers
        # wait for the write lock (DATABASE_BUSY_TIMEOUT_MS).
        options=f"-c lock_timeout={int(lock_timeout_ms)} -c TimeZone=UTC",
        application_name="rewards",
    )
    return conn


def url_problem(url: str) -> str | None:
    """Why DATABASE_URL cannot be read as a PostgreSQL URL, in words that quote none of it (it
    holds a password), or None.

    A password holding / @ ? or # unencoded is split differently by libpq and by urllib: libpq
    would take part of it for a host, a port or a database name and print it in every error.
    So both must read the same user, password and database out of it.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is no number from 0 to 65535
        libpq = conninfo_to_dict(url)
    except (ValueError, psycopg.Error):
        return UNREADABLE_URL
    name = parts.path.removeprefix("/")
    ours = {
        "user": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "dbname": unquote(name) if name else None,
    }
    if "/" in name or "@" in name or any(libpq.get(key) != value for key, value in ours.items()):
        return UNREADABLE_URL
    return None


def describe_url(url: str) -> str:
    """Where the database is, for people: never the password."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return f"postgresql://{user}{host}{parts.path}"


class PostgresSchema:
    """init-db's side of PostgreSQL: the version table, scripts applied in one transaction."""

    fresh_schema = Path(__file__).resolve().parents[2] / "schema.postgresql.sql"
    backup_instead = 'for PostgreSQL use pg_dump, e.g. pg_dump --format=custom --file=rewards.dump "$DATABASE_URL"'

    def __init__(self, backend: PostgresBackend) -> None:
        self.url = backend.url

    def open(self) -> psycopg.Connection:
        return connect(self.url)

    # Connecting creates nothing on PostgreSQL: the version check opens what init-db does.
    open_existing = open

    def version(self, conn: psycopg.Connection) -> int:
        exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()[0]
        if not exists:
            return 0
        return conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]

    def is_empty(self, conn: psycopg.Connection) -> bool:
        return conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()").fetchone()[0] == 0

    def apply(self, conn: psycopg.Connection, script: str, version: int) -> None:
        """`script` and the new version in one transaction: all of it or none (PostgreSQL's
        DDL is transactional)."""
        with conn.transaction():
            conn.execute(script)
            conn.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (%s, extract(epoch FROM now())::bigint)",
                (version,),
            )

    def drop_everything(self, conn: psycopg.Connection) -> None:
        with conn.transaction():
            names = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
            if names:
                conn.execute(
                    pgsql.SQL("DROP TABLE {} CASCADE").format(pgsql.SQL(", ").join(map(pgsql.Identifier, names)))
                )
            functions = conn.execute(
                "SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.pronamespace = current_schema()::regnamespace"
            ).fetchall()
            for (signature,) in functions:
                # regprocedure's text is a quoted, schema-qualified name with its argument types.
                conn.execute(pgsql.SQL("DROP FUNCTION {} CASCADE").format(pgsql.SQL(signature)))

    def backup(self, destination: Path) -> None:
        raise NotImplementedError(self.backup_instead)
