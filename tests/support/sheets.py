"""Reading a printed sheet back: every page rendered by PDFium, every QR code on it decoded by
zxing-cpp, and the file's cross-reference table checked, offset by offset."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pypdfium2
import pytest
import segno
import zxingcpp
from PIL import Image

from rewards.coupons import sheet
from rewards.coupons.pdf_stream import PAGE_HEIGHT

# A sheet holds QR codes only. Read with every format, a run of modules or a caption now and then
# reads as a short linear barcode ("2126"), which no phone camera pointed at a QR code would see.
QR_ONLY = zxingcpp.BarcodeFormat.QRCode
# Every code a sheet prints holds a coupon's token (COUPON_URL_TEMPLATE must contain {token}).
# Even QR-only, zxing-cpp once in some fifteen full runs read a short number ("264260") out of
# the finder patterns of neighbouring codes; what holds no token is not one of the sheet's.
TOKEN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def read_sheet(data: bytes) -> tuple[list[str], str, int]:
    """Every QR code's text, all the page text, and the number of pages."""
    assert_cross_references_hold(data)
    document = pypdfium2.PdfDocument(data)
    codes: list[str] = []
    text = []
    try:
        for page in document:
            # 144 dpi: what an office printer's output looks like to a phone camera, roughly.
            found = zxingcpp.read_barcodes(page.render(scale=2).to_pil(), formats=QR_ONLY)
            codes += [result.text for result in found if TOKEN.search(result.text)]
            text.append(page.get_textpage().get_text_range())
        return codes, "\n".join(text), len(document)
    finally:
        document.close()


def assert_cross_references_hold(data: bytes) -> None:
    """Every object's offset in the xref table points at that object. PDFium repairs a broken
    table silently, so it alone would not catch an offset written wrong."""
    start = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", data).group(1))
    header = re.match(rb"xref\n0 (\d+)\n", data[start:])
    assert header, "startxref does not point at the xref table"
    size = int(header.group(1))
    table = data[start + header.end() : start + header.end() + 20 * size]
    for number in range(1, size):
        offset = int(table[20 * number : 20 * number + 10])
        assert data[offset:].startswith(b"%d 0 obj\n" % number), f"object {number}"


def page_texts(data: bytes) -> list[str]:
    """The text of each page, as PDFium extracts it (through the font's ToUnicode map)."""
    document = pypdfium2.PdfDocument(data)
    try:
        return [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()


def page_images(data: bytes, scale: float) -> list[Image.Image]:
    """Each page rendered in grey at `scale` pixels per point."""
    document = pypdfium2.PdfDocument(data)
    try:
        return [page.render(scale=scale).to_pil().convert("L") for page in document]
    finally:
        document.close()


def square_box(slot: int, scale: float) -> tuple[int, int, int, int]:
    """The pixel box (left, top, right, bottom) of a slot's code square: the code and its quiet
    zone, from the sheet's own layout."""
    left, bottom = sheet.square(slot)
    top = PAGE_HEIGHT - bottom - sheet.SQUARE_SIDE
    return (
        round(left * scale),
        round(top * scale),
        round((left + sheet.SQUARE_SIDE) * scale),
        round((top + sheet.SQUARE_SIDE) * scale),
    )


def modules_of(payload: str) -> int:
    """How many modules a side the sheet's code of `payload` has (its version's size)."""
    return segno.make(payload, error="m", boost_error=False).symbol_size(border=0)[0]


def quiet_zone_marks(square: Image.Image, modules: int) -> list[tuple[int, int]]:
    """Pixels darker than white in the ring of QUIET_MODULES modules around the code inside a
    square crop. One pixel is allowed at either edge of the ring, where anti-aliasing of the
    code's own edge or of the crop's rounding blends in."""
    width, height = square.size
    quiet = sheet.QUIET_MODULES * width / (modules + 2 * sheet.QUIET_MODULES)
    inner = (quiet - 1, width - quiet + 1)
    pixels = square.load()
    marks = []
    for y in range(1, height - 1):
        for x in range(1, width - 1):
            if inner[0] <= x <= inner[1] and inner[0] <= y <= inner[1]:
                continue
            if pixels[x, y] < 250:
                marks.append((x, y))
    return marks


def pdffonts(path: str) -> list[list[str]]:
    """poppler's pdffonts, as a print shop's preflight reads fonts: one row of columns a font.
    Skipped where poppler-utils is missing, except under CI, which must run it."""
    if shutil.which("pdffonts") is None:
        if os.environ.get("CI"):
            pytest.fail("pdffonts is missing: CI must install poppler-utils (apt-get install poppler-utils)")
        pytest.skip("pdffonts is not installed (apt-get install poppler-utils)")
    lines = subprocess.run(["pdffonts", path], capture_output=True, text=True, check=True).stdout.splitlines()
    assert lines[1].startswith("-----"), lines
    return [line.split() for line in lines[2:]]
