"""Responses streamed from one snapshot of their own (CSV exports, PDF sheets): the snapshot is
held while the client reads, so every row comes from one moment and memory stays flat."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from flask import Response, stream_with_context

from ..db import Transaction, get_db


def streamed(
    chunks: Callable[[Transaction], Iterator[str | bytes]], mimetype: str, filename: str, *, inline: bool = False
) -> Response:
    """`chunks(tx)` streamed as the body. Check what can be refused (a 404, a 400) before:
    once the 200 has started, it cannot become a problem."""
    db = get_db()

    def body() -> Iterator[str | bytes]:
        with db.snapshot() as tx:
            yield from chunks(tx)

    disposition = "inline" if inline else "attachment"
    return Response(
        stream_with_context(body()),
        mimetype=mimetype,
        headers={"Content-Disposition": f'{disposition}; filename="{filename}"'},
    )
