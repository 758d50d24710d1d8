"""A batch's printable A4 sheet: a grid of QR codes, each with its points, expiry and the token's
first 8 characters beneath, for every coupon of the batch that is not void. Written a page at a
time from one streamed query, so the memory it needs does not grow with the batch."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import segno

from ..db import Transaction
from ..exceptions import BatchNotFound
from . import pdf_stream
from .qr import coupon_payload

HTTP_MAX_COUPONS = 10_000
CLI_MAX_COUPONS = 100_000

COLUMNS, ROWS = 4, 6
PER_PAGE = COLUMNS * ROWS
_MARGIN = 28.35  # 10 mm
_FOOTER = 14.0
_CELL_WIDTH = (pdf_stream.PAGE_WIDTH - 2 * _MARGIN) / COLUMNS
_CELL_HEIGHT = (pdf_stream.PAGE_HEIGHT - 2 * _MARGIN - _FOOTER) / ROWS
# About 30 mm: phone cameras read it at arm's length, and a URL template of 100 characters
# still gets modules of 1 mm.
_QR_SIDE = 84.0
_QR_TOP = 10.0  # above the code: with the caption of the cell above, the quiet zone a reader needs
_MASK = 0
_FONT_SIZE = 7.5
_LEADING = 9.5

_TOKENS = "SELECT token FROM coupons WHERE batch_id = ? AND status <> 'void' ORDER BY id"


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


def sheet(tx: Transaction, batch: PrintableBatch, url_template: str) -> Iterator[bytes]:
    """The batch's sheet as PDF bytes, a page at a time, from the transaction's view of it."""
    tokens = (token for (token,) in tx.stream(_TOKENS, (batch.id,)))
    return pdf_stream.document(_pages(tokens, batch, url_template))


def _pages(tokens: Iterable[str], batch: PrintableBatch, url_template: str) -> Iterator[bytes]:
    caption = _caption(batch)
    page: list[bytes] = []
    number = 0
    for token in tokens:
        page.append(_coupon(len(page), token, caption, url_template))
        if len(page) == PER_PAGE:
            number += 1
            yield b"".join(page) + _footer(batch.id, number)
            page = []
    if page or number == 0:
        if not page:
            page.append(_line(_MARGIN, pdf_stream.PAGE_HEIGHT - 2 * _MARGIN, "Every coupon of this batch is void."))
        yield b"".join(page) + _footer(batch.id, number + 1)


def _caption(batch: PrintableBatch) -> tuple[str, str]:
    points = f"{batch.points:,} point{'s' if batch.points != 1 else ''}"
    if batch.expires_at is None:
        return points, "no expiry"
    return points, "expires " + datetime.fromtimestamp(batch.expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _coupon(slot: int, token: str, caption: tuple[str, str], url_template: str) -> bytes:
    column, row = slot % COLUMNS, slot // COLUMNS
    cell_left = _MARGIN + column * _CELL_WIDTH
    cell_top = pdf_stream.PAGE_HEIGHT - _MARGIN - row * _CELL_HEIGHT
    left = cell_left + (_CELL_WIDTH - _QR_SIDE) / 2
    bottom = cell_top - _QR_TOP - _QR_SIDE
    parts = [
        # A light cutting guide around the cell.
        b"q 0.8 G 0.5 w %.2f %.2f %.2f %.2f re S Q\n" % (cell_left, cell_top - _CELL_HEIGHT, _CELL_WIDTH, _CELL_HEIGHT),
        _qr(coupon_payload(url_template, token), left, bottom),
    ]
    lines = (*caption, token[:8])
    for n, text in enumerate(lines, start=1):
        parts.append(_line(left, bottom - n * _LEADING, text))
    return b"".join(parts)


def _qr(payload: str, left: float, bottom: float) -> bytes:
    """The code as filled rectangles, one per run of dark modules in a row, drawn in module
    units (the `cm` matrix scales them) and filled at once, so no seam shows between them."""
    # Error correction M, as the per-coupon images: a printed coupon survives a scuff. One fixed
    # mask: choosing the best of eight is 5x the work of the whole code, which would put a
    # 10,000-coupon sheet past gunicorn's worker timeout; every mask is valid QR, a token's
    # random bytes read well under any, and the tests decode every code of every page.
    matrix = segno.make(payload, error="m", boost_error=False, mask=_MASK).matrix
    size = len(matrix)
    scale = _QR_SIDE / size
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
    return b"q %.4f 0 0 %.4f %.2f %.2f cm\n%s\nf Q\n" % (scale, scale, left, bottom, b"\n".join(runs))


def _line(left: float, baseline: float, text: str) -> bytes:
    return b"BT /%s %.1f Tf %.2f %.2f Td %s Tj ET\n" % (
        pdf_stream.FONT_NAME.encode(),
        _FONT_SIZE,
        left,
        baseline,
        pdf_stream.text_literal(text),
    )


def _footer(batch_id: int, page: int) -> bytes:
    return _line(_MARGIN, _MARGIN - 4, f"batch {batch_id}, page {page}")
