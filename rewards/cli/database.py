"""init-db and backup: the database's own commands."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..coupons.building import clear_abandoned
from ..db import get_db
from ..db.migrate import SchemaTooNew, init_db
from ..exceptions import DatabaseUnavailable
from . import files


@click.command("init-db")
@with_appcontext
@click.option("--reset", is_flag=True, help="Drop all data first (asks unless --yes).")
@click.option("--yes", is_flag=True, help="Do not ask before --reset.")
def init_db_command(reset: bool, yes: bool) -> None:
    """Create or upgrade the schema; running it again keeps every row."""
    backend = get_db().backend
    if reset and not yes:
        click.confirm(f"Delete every coupon, user and scan in {backend.describe()}?", abort=True)
    try:
        click.echo(init_db(backend, reset=reset))
        # Batches left unfinished by a gen-coupons that was stopped: nobody sees them, but
        # their rows take room. A run still going is left alone.
        cleared = clear_abandoned(get_db())
    except SchemaTooNew as error:
        raise click.ClickException(str(error)) from None
    except DatabaseUnavailable as error:
        raise click.ClickException(f"cannot set up the database at {backend.describe()}: {error.reason}") from None
    except backend.driver_error as error:
        refused = backend.refusal(error)
        if refused is not None:
            raise click.ClickException(f"cannot set up the database: {refused}") from None
        raise click.ClickException(f"cannot set up the database at {backend.describe()}: {_reason(error)}") from None
    except OSError as error:
        raise click.ClickException(f"cannot set up the database at {backend.describe()}: {error.strerror}") from None
    if cleared:
        click.echo(f"Cleared {cleared} unfinished batch(es) left by gen-coupons runs that were stopped")


@click.command("backup")
@with_appcontext
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(destination: Path) -> None:
    """Copy the live database (SQLite) to a new file DESTINATION."""
    backend = get_db().backend
    schema = backend.schema()
    if schema.backup_instead is not None:
        raise click.UsageError(f"backup copies SQLite files; {schema.backup_instead}")
    files.check_target(destination, "DESTINATION")
    if destination.exists():
        raise click.BadParameter(f"{destination} exists; choose a new file", param_hint="DESTINATION")
    try:
        with files.replaced_when_done(destination, "DESTINATION") as part:
            schema.backup(part)
    except (backend.driver_error, OSError) as error:
        raise click.ClickException(f"cannot back up to {destination}: {_reason(error)}") from None
    click.echo(f"Backed up {backend.describe()} to {destination}", err=True)
    current_app.logger.debug("backup written to %s", destination)


def _reason(error: Exception) -> str:
    # A driver's message can quote a connection string; the first line never holds a password
    # for either driver, but the error's class is enough for people and safe for logs.
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {first}" if "password" not in first.lower() else type(error).__name__
