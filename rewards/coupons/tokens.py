"""Coupon tokens: random UUID version 4 strings, made in bulk as sorted runs.

A batch's tokens come as runs, each from its own slice of the token space (its leading bits name
the slice) and sorted, so inserting a run touches one narrow range of the index on coupons.token
instead of nearly every page of it. gen-coupons commits a run per transaction; with random order
each of those commits rewrote most of the index's pages, which made a million coupons in short
transactions 2-3x slower than in one (measured at 2,000 to 10,000 rows per commit), while sorted
runs are faster than one transaction of random tokens (bench/RESULTS.md).

Every token is still uniformly random outside its slice's few leading bits, and the slices are
filled equally: a guess hits one of a batch's tokens with the same odds as before (count / 2**122).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

# At most this many tokens in a run: a run is one transaction of gen-coupons, so this bounds how
# long a scan waits for SQLite's write lock while a batch is made.
RUN = 4_096
_MAX_SLICE_BITS = 8  # the first byte of the UUID: 256 slices, runs of ~3,900 at a million


def token_runs(count: int) -> Iterator[list[str]]:
    """`count` new random UUID4 strings as sorted runs of at most about RUN, each from its own
    slice of the token space; memory holds one run at a time."""
    bits = 0
    while bits < _MAX_SLICE_BITS and count > RUN << bits:
        bits += 1
    slices = 1 << bits
    base, extra = divmod(count, slices)
    for index in range(slices):
        size = base + (index < extra)
        if size:
            yield sorted(_tokens(size, index, bits))


def _tokens(n: int, index: int, bits: int) -> Iterator[str]:
    """`n` random UUID4 strings whose first byte starts with the `bits` bits of `index`. One
    urandom call and hex slicing instead of uuid.uuid4() per token: the latter was a third of
    the time of a million-coupon batch."""
    raw = bytearray(os.urandom(16 * n))
    if bits:
        keep = 0xFF >> bits
        prefix = index << (8 - bits)
        raw[0::16] = bytes(prefix | (b & keep) for b in raw[0::16])
    raw[6::16] = bytes(b & 0x0F | 0x40 for b in raw[6::16])  # version 4
    raw[8::16] = bytes(b & 0x3F | 0x80 for b in raw[8::16])  # RFC 4122 variant
    hexed = raw.hex()
    for i in range(0, 32 * n, 32):
        h = hexed[i : i + 32]
        yield f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
