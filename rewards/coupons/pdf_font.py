"""DejaVu Sans (fonts/, with its licence) embedded in a PDF as a Type0 font: Identity-H, each
character a glyph of a subset made by fontTools, with a ToUnicode map so that copied or searched
text is the text. A Type0 font rather than a simple WinAnsi one because PROGRAMME_NAME may be any
Unicode text; the subset keeps the file small (about 20 KB of the font's 760 KB)."""

from __future__ import annotations

import hashlib
import io
import unicodedata
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTFont

FONT_FILE = Path(__file__).with_name("fonts") / "DejaVuSans.ttf"
FAMILY = "DejaVuSans"
# Printed instead of a character the font lacks (see `printable`).
REPLACEMENT = "?"
# Every sheet prints digits, dates, hex tokens and English words: all of printable ASCII.
_ALWAYS = "".join(chr(c) for c in range(0x20, 0x7F))
# Scripts written right to left, or whose letters join, need a shaping engine (HarfBuzz) and a
# bidirectional layout that this writer does not have: drawn one glyph after another they would
# come out backwards or unjoined, so they count as missing.
_NEEDS_SHAPING = {"R", "AL", "AN"}


@dataclass(frozen=True)
class PdfFont:
    """A subset of the font: what a page needs to show text in it and the objects to embed it."""

    base_font: bytes  # "ABCDEF+DejaVuSans": the tag says it is a subset (ISO 32000-1, 9.6.4)
    glyphs: dict[str, int]  # character -> glyph id in the subset
    widths: list[int]  # advance of each glyph id, in 1/1000 of the font size
    program: bytes  # the subset as a TrueType file
    ascent: int
    descent: int
    cap_height: int
    bbox: tuple[int, int, int, int]

    def encode(self, text: str) -> bytes:
        """The text as a PDF hex string of 2-byte glyph ids (Identity-H); `text` must be printable."""
        return b"<" + "".join(f"{self.glyphs[ch]:04X}" for ch in text).encode() + b">"

    def width(self, text: str, size: float) -> float:
        return sum(self.widths[self.glyphs[ch]] for ch in text) * size / 1000

    def objects(self, first: int) -> list[bytes]:
        """The bodies of objects `first` (the Type0 font a page refers to) to `first + 4`."""
        cid_font, descriptor, program, to_unicode = first + 1, first + 2, first + 3, first + 4
        packed = zlib.compress(self.program, 6)
        cmap = zlib.compress(self._to_unicode(), 6)
        return [
            b"<< /Type /Font /Subtype /Type0 /BaseFont /%s /Encoding /Identity-H /DescendantFonts [%d 0 R] "
            b"/ToUnicode %d 0 R >>" % (self.base_font, cid_font, to_unicode),
            b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /%s "
            b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
            b"/FontDescriptor %d 0 R /CIDToGIDMap /Identity /DW 1000 /W [0 [%s]] >>"
            % (self.base_font, descriptor, b" ".join(b"%d" % w for w in self.widths)),
            b"<< /Type /FontDescriptor /FontName /%s /Flags 32 /FontBBox [%d %d %d %d] /ItalicAngle 0 "
            b"/Ascent %d /Descent %d /CapHeight %d /StemV 80 /FontFile2 %d 0 R >>"
            % (self.base_font, *self.bbox, self.ascent, self.descent, self.cap_height, program),
            b"<< /Length %d /Length1 %d /Filter /FlateDecode >>\nstream\n%s\nendstream"
            % (len(packed), len(self.program), packed),
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(cmap), cmap),
        ]

    def _to_unicode(self) -> bytes:
        pairs = sorted((gid, ch) for ch, gid in self.glyphs.items())
        blocks = []
        for start in range(0, len(pairs), 100):  # a bfchar block holds at most 100 entries
            chunk = pairs[start : start + 100]
            lines = "\n".join(f"<{gid:04X}> <{ch.encode('utf-16-be').hex().upper()}>" for gid, ch in chunk)
            blocks.append(f"{len(chunk)} beginbfchar\n{lines}\nendbfchar")
        return (
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
            + "\n".join(blocks)
            + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
        ).encode()


@lru_cache(maxsize=1)
def _covered() -> frozenset[int]:
    with TTFont(FONT_FILE, lazy=True) as font:
        return frozenset(font.getBestCmap())


def missing(text: str) -> str:
    """The characters of `text` the sheet cannot print, each once, in order."""
    covered = _covered()
    seen: dict[str, None] = {}
    for ch in unicodedata.normalize("NFC", text):
        if ord(ch) not in covered or unicodedata.bidirectional(ch) in _NEEDS_SHAPING:
            seen[ch] = None
    return "".join(seen)


def printable(text: str) -> str:
    """`text` as the sheet prints it: NFC, with each character it cannot print as REPLACEMENT."""
    lacking = set(missing(text))
    return "".join(REPLACEMENT if ch in lacking else ch for ch in unicodedata.normalize("NFC", text))


@lru_cache(maxsize=8)
def embedded_font(extra: str = "") -> PdfFont:
    """A subset with printable ASCII and the characters of `extra` (which must be printable):
    made once per process for each programme name, as it costs a few hundred milliseconds."""
    # Imported here: a quarter of a second of every worker's start, for a sheet few workers print.
    from fontTools import subset

    characters = sorted(set(_ALWAYS + extra))
    options = subset.Options()
    options.layout_features = []  # no shaping is done, so GSUB/GPOS would be dead weight
    options.hinting = False  # print resolution needs no hints, and they are a third of the size
    options.name_IDs = ["*"]  # keep the copyright and licence notices inside the embedded font
    options.notdef_outline = True
    options.drop_tables += ["FFTM"]  # FontForge's timestamps: fontTools cannot subset them, nor need readers
    with TTFont(FONT_FILE) as font:
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=[ord(ch) for ch in characters])
        subsetter.subset(font)
        out = io.BytesIO()
        font.save(out)
        scale = 1000 / font["head"].unitsPerEm
        cmap = font.getBestCmap()
        glyphs = {ch: font.getGlyphID(cmap[ord(ch)]) for ch in characters}
        metrics = font["hmtx"].metrics
        widths = [round(metrics[name][0] * scale) for name in font.getGlyphOrder()]
        head, hhea = font["head"], font["hhea"]
        cap = font["glyf"]["H"].yMax
        tag = "".join(chr(65 + b % 26) for b in hashlib.sha256("".join(characters).encode()).digest()[:6])
        return PdfFont(
            base_font=f"{tag}+{FAMILY}".encode(),
            glyphs=glyphs,
            widths=widths,
            program=out.getvalue(),
            ascent=round(hhea.ascent * scale),
            descent=round(hhea.descent * scale),
            cap_height=round(cap * scale),
            bbox=tuple(round(v * scale) for v in (head.xMin, head.yMin, head.xMax, head.yMax)),
        )
