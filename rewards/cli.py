"""Operator commands: `flask --app app init-db | gen-coupons | backup`."""

from __future__ import annotations

import csv
import sqlite3
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from . import clock
from .coupons import CLI_MAX_COUNT, DEFAULT_POINTS, MAX_LABEL, MAX_POINTS, create_batch
from .db import connect, init_schema


@click.command("init-db")
@with_appcontext
@click.option("--reset", is_flag=True, help="Drop all data first (asks unless --yes).")
@click.option("--yes", is_flag=True, help="Do not ask before --reset.")
def init_db_command(reset: bool, yes: bool) -> None:
    """Create the schema; running it again keeps every row."""
    path = current_app.config["DATABASE_PATH"]
    if reset and not yes:
        click.confirm(f"Delete every coupon, user and scan in {path}?", abort=True)
    click.echo(init_schema(path, reset=reset))


def _future_time(_ctx: click.Context, _param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        seconds = clock.parse_rfc3339(value)
    except (ValueError, OverflowError, OSError):
        raise click.BadParameter("must be an RFC 3339 time such as 2027-06-30T23:59:59Z") from None
    if seconds <= clock.now():
        raise click.BadParameter("must be in the future")
    return seconds


def _label(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and len(value) > MAX_LABEL:
        raise click.BadParameter(f"must be at most {MAX_LABEL} characters")
    return value


@click.command("gen-coupons")
@with_appcontext
@click.option("--count", required=True, type=click.IntRange(1, CLI_MAX_COUNT), help="How many coupons.")
@click.option("--points", default=DEFAULT_POINTS, show_default=True, type=click.IntRange(1, MAX_POINTS))
@click.option("--expires-at", callback=_future_time, help="RFC 3339 time, in the future.")
@click.option("--label", callback=_label, help=f"At most {MAX_LABEL} characters.")
@click.option(
    "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), help="CSV file (default: stdout)."
)
@click.option("--force", is_flag=True, help="Overwrite --output if it exists.")
def gen_coupons_command(
    count: int, points: int, expires_at: int | None, label: str | None, output: Path | None, force: bool
) -> None:
    """Create one batch of coupons and write them as CSV."""
    if output and output.exists() and not force:
        # The tokens of an earlier batch may live only in that file.
        raise click.BadParameter(f"{output} exists; choose a new file or add --force", param_hint="--output")
    conn = _open_database()
    try:
        stream = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
    except OSError as error:
        conn.close()
        raise click.BadParameter(f"cannot write {output}: {error.strerror}", param_hint="--output") from None
    expiry = clock.to_rfc3339(expires_at) or ""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(["token", "points", "expires_at", "batch_id"])
    try:
        batch = create_batch(
            conn,
            count=count,
            points=points,
            expires_at=expires_at,
            label=label,
            now=clock.now(),
            on_chunk=lambda batch_id, tokens: writer.writerows((t, points, expiry, batch_id) for t in tokens),
        )
        stream.flush()
    except (sqlite3.Error, OSError) as error:
        # The transaction rolled back: the tokens written so far name no coupon.
        if output:
            stream.close()
            output.unlink(missing_ok=True)
        raise click.ClickException(f"nothing was created: {error}") from None
    finally:
        conn.close()
        if output:
            stream.close()
    click.echo(
        f"batch {batch.id}: {count} coupons of {points} points, expiring {clock.to_rfc3339(expires_at) or 'never'}"
        f" -> {output or 'stdout'}",
        err=True,
    )


@click.command("backup")
@with_appcontext
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(destination: Path) -> None:
    """Copy the live database to DESTINATION with SQLite's online backup API."""
    if destination.exists():
        raise click.BadParameter(f"{destination} exists; choose a new file", param_hint="DESTINATION")
    if not destination.parent.is_dir():
        raise click.BadParameter(f"the folder {destination.parent} does not exist", param_hint="DESTINATION")
    source = _open_database()
    try:
        target = sqlite3.connect(destination)
        target.execute("PRAGMA user_version")  # sqlite3 opens lazily: make it create the file now
    except sqlite3.Error as error:
        source.close()
        raise click.BadParameter(f"cannot write {destination}: {error}", param_hint="DESTINATION") from None
    try:
        # One step copies everything under one read snapshot: the copy is a single consistent
        # point in time, and WAL lets writers carry on meanwhile.
        source.backup(target, pages=-1)
    finally:
        target.close()
        source.close()
    click.echo(f"Backed up {current_app.config['DATABASE_PATH']} to {destination}", err=True)


def _open_database() -> sqlite3.Connection:
    """A connection of its own: a command is one short-lived process, not a worker."""
    path = current_app.config["DATABASE_PATH"]
    try:
        return connect(path, current_app.config["DATABASE_BUSY_TIMEOUT_MS"])
    except sqlite3.Error:
        raise click.ClickException(f"cannot open the database at {path}; run `flask --app app init-db` first") from None


def register_commands(app: Flask) -> None:
    for command in (init_db_command, gen_coupons_command, backup_command):
        app.cli.add_command(command)
