"""A batch's printable A4 sheet: a grid of QR codes, each with its points, expiry and the token's
first 8 characters beneath, for every coupon of the batch that is not void, under PROGRAMME_NAME
and a line telling a customer what to do with a code. Written a page at a time from one streamed
query, so the memory it needs does not grow with the batch."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import segno

from ..db import Transaction
from ..exceptions import BatchNotFound
from . import pdf_font, pdf_stream
from .pdf_font import PdfFont
from .qr import coupon_payload

HTTP_MAX_COUPONS = 10_000
CLI_MAX_COUPONS = 100_000

SCAN_LINE = "Scan a code with your phone's camera to collect its points."
_ELLIPSIS = "\u2026"

COLUMNS, ROWS = 4, 6
PER_PAGE = COLUMNS * ROWS
_MARGIN = 28.35  # 10 mm
_HEADER = 36.0  # PROGRAMME_NAME and the scan line, above the grid
_FOOTER = 14.0
_CELL_WIDTH = (pdf_stream.PAGE_WIDTH - 2 * _MARGIN) / COLUMNS
_CELL_HEIGHT = (pdf_stream.PAGE_HEIGHT - 2 * _MARGIN - _HEADER - _FOOTER) / ROWS
_GRID_TOP = pdf_stream.PAGE_HEIGHT - _MARGIN - _HEADER
# The code's square: the code and its quiet zone of 4 modules on every side (ISO/IEC 18004 asks
# for 4), scaled together so that no caption, cut line or neighbour can fall inside the zone
# whatever the code's version. 78 pt (27.5 mm) leaves a 25-module code (a bare token) modules of
# 0.8 mm and a 41-module one (a 60-character URL) 0.7 mm: phone cameras read both at arm's length.
QUIET_MODULES = 4
SQUARE_SIDE = 78.0
_SQUARE_TOP = 13.0  # below the cell's top: room for the programme name above the square
_MASK = 0
_FONT_SIZE = 7.5
_POINTS_SIZE = 9.0  # what a customer looks for first
_LEADING = 9.5
_NAME_SIZE = 8.0  # the programme name on each coupon: a coupon cut from the sheet still says whose it is
_TITLE_SIZE = 14.0
_SCAN_SIZE = 9.0
_MIN_SIZE = 5.0  # a long name is set smaller down to this, then shortened with an ellipsis

_TOKENS = "SELECT token FROM coupons WHERE batch_id = ? AND status <> 'void' ORDER BY id"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrintableBatch:
    id: int
    count: int
    points: int
    expires_at: int | None


def printable_batch(tx: Transaction, batch_id: int) -> PrintableBatch:
    row = tx.one("SELECT id, count, points, expires_at FROM batches WHERE id = ?", (batch_id,))
    if row is None:
        raise BatchNotFound("No batch has that id.")
    return PrintableBatch(row["id"], row["count"], row["points"], row["expires_at"])


def sheet(tx: Transaction, batch: PrintableBatch, url_template: str, programme_name: str) -> Iterator[bytes]:
    """The batch's sheet as PDF bytes, a page at a time, from the transaction's view of it."""
    lacking = pdf_font.missing(programme_name)
    if lacking:
        log.warning(
            "PROGRAMME_NAME has characters the sheet's font cannot print (%s): printed as %r",
            lacking,
            pdf_font.REPLACEMENT,
        )
    name = pdf_font.printable(programme_name)
    font = pdf_font.embedded_font(name + _ELLIPSIS)
    tokens = (token for (token,) in tx.stream(_TOKENS, (batch.id,)))
    return pdf_stream.document(_pages(tokens, batch, url_template, font, name), font)


def square(slot: int) -> tuple[float, float]:
    """The left and bottom, in points, of the code's square (SQUARE_SIDE, quiet zone included)
    in slot `slot` of a page, counted from the top left, row by row."""
    column, row = slot % COLUMNS, slot // COLUMNS
    left = _MARGIN + column * _CELL_WIDTH + (_CELL_WIDTH - SQUARE_SIDE) / 2
    top = _GRID_TOP - row * _CELL_HEIGHT - _SQUARE_TOP
    return left, top - SQUARE_SIDE


def _pages(
    tokens: Iterable[str], batch: PrintableBatch, url_template: str, font: PdfFont, name: str
) -> Iterator[bytes]:
    # What is the same on every page or coupon is drawn once, as operators to repeat.
    header = _header(font, name)
    points, expiry = _caption(batch)
    captions = [
        _fitted(font, points, _POINTS_SIZE, _CELL_WIDTH - 8),
        _fitted(font, expiry, _FONT_SIZE, _CELL_WIDTH - 8),
    ]
    coupon_name = _fitted(font, name, _NAME_SIZE, _CELL_WIDTH - 8)
    page: list[bytes] = []
    number = 0
    for token in tokens:
        page.append(_coupon(font, len(page), token, coupon_name, captions, url_template))
        if len(page) == PER_PAGE:
            number += 1
            yield header + b"".join(page) + _footer(font, batch.id, number)
            page = []
    if page or number == 0:
        if not page:
            page.append(_line(font, _MARGIN, _GRID_TOP - 12, "Every coupon of this batch is void.", _SCAN_SIZE))
        yield header + b"".join(page) + _footer(font, batch.id, number + 1)


def _caption(batch: PrintableBatch) -> tuple[str, str]:
    points = f"{batch.points:,} point{'s' if batch.points != 1 else ''}"
    if batch.expires_at is None:
        return points, "no expiry"
    return points, "expires " + datetime.fromtimestamp(batch.expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _fitted(font: PdfFont, text: str, size: float, width: float) -> tuple[str, float]:
    """`text` at `size`, or smaller down to _MIN_SIZE, then shortened with an ellipsis, so that
    it fits `width` points."""
    if font.width(text, size) > width:
        size = max(_MIN_SIZE, size * width / font.width(text, size))
    while font.width(text, size) > width and len(text) > 1:
        text = text[:-2] + _ELLIPSIS
    return text, size


def _header(font: PdfFont, name: str) -> bytes:
    top = pdf_stream.PAGE_HEIGHT - _MARGIN
    width = pdf_stream.PAGE_WIDTH - 2 * _MARGIN
    title, size = _fitted(font, name, _TITLE_SIZE, width)
    scan, scan_size = _fitted(font, SCAN_LINE, _SCAN_SIZE, width)
    return _line(font, _MARGIN, top - 12, title, size) + _line(font, _MARGIN, top - 27, scan, scan_size)


def _coupon(
    font: PdfFont,
    slot: int,
    token: str,
    name: tuple[str, float],
    captions: list[tuple[str, float]],
    url_template: str,
) -> bytes:
    column, row = slot % COLUMNS, slot // COLUMNS
    cell_left = _MARGIN + column * _CELL_WIDTH
    cell_top = _GRID_TOP - row * _CELL_HEIGHT
    left, bottom = square(slot)
    parts = [
        # A light cutting guide around the cell, well outside the square.
        b"q 0.8 G 0.5 w %.2f %.2f %.2f %.2f re S Q\n" % (cell_left, cell_top - _CELL_HEIGHT, _CELL_WIDTH, _CELL_HEIGHT),
        _centred(font, cell_left, cell_top - 10, *name),
        _qr(coupon_payload(url_template, token), left, bottom),
    ]
    # The first caption's capitals start 2.4 pt under the square: outside it, so outside the
    # quiet zone, which lies inside the square.
    lines = (*captions, (token[:8], _FONT_SIZE))
    for n, (text, size) in enumerate(lines):
        parts.append(_centred(font, cell_left, bottom - 9 - n * _LEADING, text, size))
    return b"".join(parts)


def _qr(payload: str, left: float, bottom: float) -> bytes:
    """The code as filled rectangles, one per run of dark modules in a row, drawn in module
    units (the `cm` matrix scales them) and filled at once, so no seam shows between them; the
    square's edge is QUIET_MODULES modules from the code on every side."""
    # Error correction M, as the per-coupon images: a printed coupon survives a scuff. One fixed
    # mask: choosing the best of eight is 5x the work of the whole code, which would put a
    # 10,000-coupon sheet past gunicorn's worker timeout; every mask is valid QR, a token's
    # random bytes read well under any, and the tests decode every code of every page.
    matrix = segno.make(payload, error="m", boost_error=False, mask=_MASK).matrix
    size = len(matrix)
    scale = SQUARE_SIDE / (size + 2 * QUIET_MODULES)
    runs = []
    for r, row in enumerate(matrix):
        y = size - 1 - r
        c = 0
        while c < size:
            if row[c]:
                start = c
                while c < size and row[c]:
                    c += 1
                runs.append(b"%d %d %d 1 re" % (start, y, c - start))
            else:
                c += 1
    quiet = QUIET_MODULES * scale
    return b"q %.4f 0 0 %.4f %.2f %.2f cm\n%s\nf Q\n" % (
        scale,
        scale,
        left + quiet,
        bottom + quiet,
        b"\n".join(runs),
    )


def _centred(font: PdfFont, cell_left: float, baseline: float, text: str, size: float) -> bytes:
    return _line(font, cell_left + (_CELL_WIDTH - font.width(text, size)) / 2, baseline, text, size)


def _line(font: PdfFont, left: float, baseline: float, text: str, size: float) -> bytes:
    return b"BT /%s %.2f Tf %.2f %.2f Td %s Tj ET\n" % (
        pdf_stream.FONT_NAME.encode(),
        size,
        left,
        baseline,
        font.encode(text),
    )


def _footer(font: PdfFont, batch_id: int, page: int) -> bytes:
    return _line(font, _MARGIN, _MARGIN - 4, f"batch {batch_id}, page {page}", _FONT_SIZE)
