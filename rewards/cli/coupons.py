"""gen-coupons: a batch of coupons from the shell, streamed to CSV; void-batch."""

from __future__ import annotations

import csv
import sys
from contextlib import nullcontext
from pathlib import Path

import click
from flask.cli import with_appcontext

from .. import audit, clock
from ..coupons.batches import CLI_MAX_COUNT, DEFAULT_POINTS, MAX_LABEL, MAX_POINTS
from ..coupons.building import BuildLost, build_batch, clear_abandoned
from ..coupons.lookup import batch_view
from ..coupons.voiding import void_batch
from ..db import MAX_ID, get_db
from ..exceptions import BatchNotFound, DatabaseUnavailable
from . import files


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
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="CSV file (default: stdout).")
@click.option("--force", is_flag=True, help="Replace --output if it exists (once the new file is whole).")
def gen_coupons_command(
    count: int, points: int, expires_at: int | None, label: str | None, output: Path | None, force: bool
) -> None:
    """Create one batch of coupons and write them as CSV."""
    if output:
        files.check_target(output, "--output")
        if output.exists() and not force:
            # The tokens of an earlier batch may live only in that file.
            raise click.BadParameter(f"{output} exists; choose a new file or add --force", param_hint="--output")
    expiry = clock.to_rfc3339(expires_at) or ""
    db = get_db()
    try:
        with files.written_in_place(output, "--output") if output else nullcontext(sys.stdout) as stream:
            cleared = clear_abandoned(db)
            if cleared:
                click.echo(f"cleared {cleared} unfinished batch(es) left by runs that were stopped", err=True)
            writer = csv.writer(stream, lineterminator="\n")
            writer.writerow(["token", "points", "expires_at", "batch_id"])
            batch = build_batch(
                db,
                audit.CLI_OPERATOR,
                count=count,
                points=points,
                expires_at=expires_at,
                label=label,
                on_chunk=lambda batch_id, tokens: writer.writerows((t, points, expiry, batch_id) for t in tokens),
                # The file is whole on the disk before the batch is: then it is renamed into place.
                before_whole=(lambda: files.sync(stream)) if output else stream.flush,
            )
    except (DatabaseUnavailable, BuildLost, db.backend.driver_error, OSError) as error:
        # No batch became whole, and the file (if any) was removed: the tokens written so far
        # name no coupon anyone can see.
        reason = error.reason if isinstance(error, DatabaseUnavailable) else type(error).__name__
        raise click.ClickException(
            f"nothing was created ({reason}); is the database at {db.describe()} there? "
            "`flask --app app init-db` creates it"
        ) from None
    click.echo(
        f"batch {batch.id}: {count} coupons of {points} points, expiring {clock.to_rfc3339(expires_at) or 'never'}"
        f" -> {output or 'stdout'}",
        err=True,
    )


@click.command("void-batch")
@with_appcontext
@click.argument("batch_id", type=click.IntRange(1, MAX_ID))
@click.option("--reason", required=True, help="Why, in 1 to 500 characters (kept in the audit log).")
def void_batch_command(batch_id: int, reason: str) -> None:
    """Void every coupon of BATCH_ID that is not redeemed (a leaked batch)."""
    if not reason or len(reason) > 500:
        raise click.BadParameter("must say why, in 1 to 500 characters", param_hint="--reason")
    db = get_db()
    try:
        with db.write() as tx:
            void_batch(tx, audit.CLI_OPERATOR, batch_id, reason, clock.now())
            batch = batch_view(tx, batch_id, clock.now())
    except BatchNotFound:
        raise click.BadParameter(f"no batch has the id {batch_id}", param_hint="BATCH_ID") from None
    except DatabaseUnavailable as error:
        raise click.ClickException(f"the database at {db.describe()} is unavailable ({error.reason})") from None
    counts = batch.coupons
    click.echo(f"batch {batch_id} is void: {counts.void} coupons void, {counts.redeemed} redeemed before it", err=True)
