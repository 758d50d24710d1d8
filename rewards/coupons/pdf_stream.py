"""A PDF written page by page as it is made, so a sheet of 100,000 coupons needs the memory of
one page. Python's PDF libraries (fpdf2, ReportLab, pikepdf) all hold the whole document until
they save it; what a coupon sheet needs of PDF (filled rectangles and one embedded font) is small
enough to write directly, following ISO 32000-1's file structure (section 7.5)."""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Iterator

from .pdf_font import PdfFont

# A4 in points (1/72 inch).
PAGE_WIDTH = 595.28
PAGE_HEIGHT = 841.89

_CATALOG, _PAGES, _FONT = 1, 2, 3
# Every font is embedded, even where a reader has one of the standard 14 (Helvetica): a print
# shop's preflight refuses a file that leaves the choice of font to the machine that prints it.
FONT_NAME = "F1"


class PdfStream:
    """Feed `page(content)` the drawing operators of each page; every call returns the bytes to
    write next, and `end()` the closing bytes. Only the offsets of objects are kept (24 bytes
    a page), never a page once it is written."""

    def __init__(self, font: PdfFont) -> None:
        self._font_objects = font.objects(_FONT)
        self._first_page_object = _FONT + len(self._font_objects)
        # Byte offset of each object, by object number (0 is the free list's head); the catalog
        # and the page tree are written last, every other object in turn. 8 bytes an object.
        self._offsets = array("Q", [0] * _FONT)
        self._position = 0
        self._pages = array("Q")

    def start(self) -> bytes:
        # The second line's high bytes tell transfer tools the file is binary.
        out = self._emit(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        for number, body in enumerate(self._font_objects, start=_FONT):
            out += self._object(number, body)
        return out

    def page(self, content: bytes) -> bytes:
        contents = self._first_page_object + 2 * len(self._pages)
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


def document(pages: Iterator[bytes], font: PdfFont) -> Iterator[bytes]:
    """The PDF's bytes, a page at a time, from each page's drawing operators, which write their
    text in `font` as /F1. A document with no page is not a valid PDF, so `pages` must yield at
    least one."""
    pdf = PdfStream(font)
    yield pdf.start()
    for content in pages:
        yield pdf.page(content)
    yield pdf.end()
