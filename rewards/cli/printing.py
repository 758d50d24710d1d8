"""print-batch: a batch's printable A4 sheet from the shell, for batches too large for HTTP."""

from __future__ import annotations

import math
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from .. import clock
from ..coupons.lookup import batch_view, whole_batch
from ..coupons.pdf_font import REPLACEMENT, missing
from ..coupons.sheet import CLI_MAX_COUPONS, PER_PAGE, printable_batch, sheet
from ..db import MAX_ID, get_db
from ..exceptions import BatchNotFound, DatabaseUnavailable
from . import files


@click.command("print-batch")
@with_appcontext
@click.argument("batch_id", type=click.IntRange(1, MAX_ID))
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The PDF file to write.")
def print_batch_command(batch_id: int, output: Path) -> None:
    """Write the A4 QR sheet of BATCH_ID's coupons that are not void (up to 100,000)."""
    files.check_target(output, "--output")
    db = get_db()
    template, programme = current_app.config["COUPON_URL_TEMPLATE"], current_app.config["PROGRAMME_NAME"]
    try:
        with db.snapshot() as tx:
            whole_batch(tx, batch_id)  # not one still being built
            batch = printable_batch(tx, batch_id)
            if batch.count > CLI_MAX_COUPONS:
                raise click.BadParameter(
                    f"batch {batch_id} has {batch.count:,} coupons, over the {CLI_MAX_COUPONS:,} a sheet holds; "
                    "send its coupons.csv to the print shop instead",
                    param_hint="BATCH_ID",
                )
            counts = batch_view(tx, batch_id, clock.now()).coupons
            # A failure never leaves half a sheet under the name, and an earlier sheet stays
            # until the new one is whole.
            with files.written_in_place(output, "--output", binary=True) as out:
                for chunk in sheet(tx, batch, template, programme):
                    out.write(chunk)
    except BatchNotFound:
        raise click.BadParameter(f"no batch has the id {batch_id}", param_hint="BATCH_ID") from None
    except DatabaseUnavailable as error:
        raise click.ClickException(f"the database at {db.describe()} is unavailable ({error.reason})") from None
    except OSError as error:
        raise click.ClickException(f"cannot write {output}: {error.strerror}") from None
    lacking = missing(programme)
    if lacking:
        # Said where the operator looks, before the sheet goes to the print shop.
        click.echo(
            f"warning: PROGRAMME_NAME has characters the sheet's font cannot print ({lacking}); "
            f"they are printed as {REPLACEMENT!r}",
            err=True,
        )
    printed = batch.count - counts.void
    pages = max(1, math.ceil(printed / PER_PAGE))
    click.echo(f"batch {batch_id}: {printed:,} coupons on {pages:,} pages -> {output}", err=True)
