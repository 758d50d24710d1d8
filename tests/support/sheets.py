"""Reading a printed sheet back: every page rendered by PDFium, every QR code on it decoded by
zxing-cpp, and the file's cross-reference table checked, offset by offset."""

from __future__ import annotations

import re

import pypdfium2
import zxingcpp


def read_sheet(data: bytes) -> tuple[list[str], str, int]:
    """Every QR code's text, all the page text, and the number of pages."""
    assert_cross_references_hold(data)
    document = pypdfium2.PdfDocument(data)
    codes: list[str] = []
    text = []
    try:
        for page in document:
            # 144 dpi: what an office printer's output looks like to a phone camera, roughly.
            codes += [result.text for result in zxingcpp.read_barcodes(page.render(scale=2).to_pil())]
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
