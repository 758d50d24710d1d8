"""A PDF written page by page as it is made, so a sheet of 100,000 coupons needs the memory of
one page. Python's PDF libraries (fpdf2, ReportLab, pikepdf) all hold the whole document until
they save it; what a coupon sheet needs of PDF (filled rectangles and one standard font) is small
enough to write directly, following ISO 32000-1's file structure (section 7.5)."""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Iterator

# A4 in points (1/72 inch).
PAGE_WIDTH = 595.28
PAGE_HEIGHT = 841.89

_CATALOG, _PAGES, _FONT = 1, 2, 3
_FIRST_PAGE_OBJECT = 4
# Helvetica is one of the 14 fonts every PDF reader has: nothing to embed.
FONT_NAME = "F1"


def text_literal(text: str) -> bytes:
    """A PDF string literal of ASCII text (what a sheet prints: digits, dates, hex)."""
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + escaped.encode("ascii", "replace") + b")"


class PdfStream:
    """Feed `page(content)` the drawing operators of each page; every call returns the bytes to
    write next, and `end()` the closing bytes. Only the offsets of objects are kept (24 bytes
    a page), never a page once it is written."""

    def __init__(self) -> None:
        # Byte offset of each object, by object number (0 is the free list's head); objects
        # 1 to 3 are written out of order, every other in turn. 8 bytes an object.
        self._offsets = array("Q", [0] * _FIRST_PAGE_OBJECT)
        self._position = 0
        self._pages = array("Q")

    def start(self) -> bytes:
        # The second line's high bytes tell transfer tools the file is binary.
        return self._emit(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n") + self._object(
            _FONT, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
        )

    def page(self, content: bytes) -> bytes:
        contents = _FIRST_PAGE_OBJECT + 2 * len(self._pages)
        page = contents + 1
        self._pages.append(page)
        packed = zlib.compress(content, 6)
        stream = b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(packed), packed)
        page_dict = (
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %.2f %.2f] "
            b"/Resources << /Font << /%s %d 0 R >> >> /Contents %d 0 R >>"
            % (_PAGES, PAGE_WIDTH, PAGE_HEIGHT, FONT_NAME.encode(), _FONT, contents)
        )
        return self._object(contents, stream) + self._object(page, page_dict)

    def end(self) -> bytes:
        kids = b" ".join(b"%d 0 R" % n for n in self._pages)
        out = self._object(_PAGES, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(self._pages)))
        out += self._object(_CATALOG, b"<< /Type /Catalog /Pages %d 0 R >>" % _PAGES)
        size = len(self._offsets)
        xref_at = self._position
        # Each cross-reference entry is exactly 20 bytes, end of line included (7.5.4).
        entries = [b"0000000000 65535 f \n"] + [b"%010d 00000 n \n" % self._offsets[n] for n in range(1, size)]
        tail = b"xref\n0 %d\n%s" % (size, b"".join(entries))
        tail += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, _CATALOG, xref_at)
        return out + self._emit(tail)

    def _object(self, number: int, body: bytes) -> bytes:
        if number == len(self._offsets):
            self._offsets.append(self._position)
        else:
            self._offsets[number] = self._position
        return self._emit(b"%d 0 obj\n%s\nendobj\n" % (number, body))

    def _emit(self, data: bytes) -> bytes:
        self._position += len(data)
        return data


def document(pages: Iterator[bytes]) -> Iterator[bytes]:
    """The PDF's bytes, a page at a time, from each page's drawing operators. A document with
    no page is not a valid PDF, so `pages` must yield at least one."""
    pdf = PdfStream()
    yield pdf.start()
    for content in pages:
        yield pdf.page(content)
    yield pdf.end()
