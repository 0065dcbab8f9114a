"""The PDF's fonts: found under a font root by fonts.toml, parsed once per process and
shared by every export, each document taking a light copy of its own.

fpdf2 (2.8.9, pinned) parses a font for every document it is added to: 0.3 s for a CJK
collection. Here the parse is kept: a document's copy shares the parsed tables, read only
while drawing, and has its own record of the glyphs it used. fpdf2 subsets a font in place
when it writes the file, so just before that each copy gets a freshly opened font to cut.
"""

from __future__ import annotations

import copy
import io
import logging
import threading
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import uharfbuzz as hb  # type: ignore[import-untyped]
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont

from server.export.errors import ExportUnavailable
from server.export.scripts import CATALOG, Script, Variant

log = logging.getLogger(__name__)

DEFAULT_ROOT = Path("/usr/share/fonts")
_SETUP = "scripts/system_packages.sh"


class FontLibrary:
    """The fonts under one root. Thread-safe: exports in a pool share one library."""

    def __init__(self, root: Path = DEFAULT_ROOT) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._parsed: dict[tuple[str, int, bool], TTFFont] = {}
        self._coverage: dict[int, str] | None = None

    def require(self, scripts: Iterable[Script], variant: Variant | None) -> None:
        """ExportUnavailable naming the package to install, unless every script's font is
        here (the base script's always: page numbers and bullets are drawn in it)."""
        for script in (CATALOG.base, *scripts):
            if not (self.root / script.regular).is_file():
                label = variant.label if script.variants and variant else script.label
                raise ExportUnavailable(
                    f"PDF export needs the font package {script.package} for {label} text; "
                    f"install it with `apt-get install {script.package}` (or run {_SETUP})"
                )

    def parsed(self, relative: str, face: int = 0, bold: bool = False) -> TTFFont | None:
        """The font file parsed, or None when it is not there."""
        key = (relative, face, bold)
        with self._lock:
            font = self._parsed.get(key)
            if font is None:
                path = self.root / relative
                if not path.is_file():
                    return None
                style = "B" if bold else ""
                font = TTFFont(FPDF(), path, "parsed", style, collection_font_number=face)
                # Drawing reads metrics and glyph names only; outlines are read again from
                # the file when a document is written. A third of a CJK face's memory.
                for tag in _OUTLINE_TABLES:
                    font.ttfont.tables.pop(tag, None)
                self._parsed[key] = font
        return font

    def fallback(self, char: str) -> str | None:
        """A font file (relative to the root) under the fallback directories that has
        `char`: Noto Sans first, then its symbol fonts, then the other sans faces."""
        with self._lock:
            if self._coverage is None:
                self._coverage = self._index()
            return self._coverage.get(ord(char))

    def _index(self) -> dict[int, str]:
        coverage: dict[int, str] = {}
        for directory in CATALOG.fallback_dirs:
            for path in sorted((self.root / directory).glob("*-Regular.ttf"), key=_preference):
                try:
                    cmap = TTFont(path, lazy=True).getBestCmap() or {}
                except Exception:  # a broken font file costs its characters, not the export
                    log.warning("cannot read the font %s", path, exc_info=True)
                    continue
                relative = str(path.relative_to(self.root))
                for code in cmap:
                    coverage.setdefault(code, relative)
        return coverage


_OUTLINE_TABLES = ("CFF ", "CFF2", "glyf", "loca", "cmap")


def _preference(path: Path) -> tuple[int, str]:
    name = path.name
    rank = 0 if name.startswith("NotoSans-") else 1 if "Symbols" in name else 2
    return (rank if "Sans" in name else 3, name)


def document_copy(parsed: TTFFont, pdf: FPDF, fontkey: str) -> TTFFont:
    """A copy of a parsed font for one document: the parsed tables shared, the record of
    used glyphs and the PDF objects its own."""
    font = copy.copy(parsed)
    font.i = len(pdf.fonts) + 1
    font.fontkey = fontkey
    missing = parsed.desc.missing_width
    font.cw = defaultdict(lambda: missing, parsed.cw)  # fpdf2 inserts what it looks up
    font.desc = copy.copy(parsed.desc)
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font._hbfont = None  # its own shaper: HarfBuzz fonts are not shared across threads
    font.subset = SubsetMap(font)
    return font


def reopen_for_subsetting(font: TTFFont) -> None:
    """Give a document's copy a font of its own for fpdf2 to cut down in place: for a CFF
    font (the CJK collection) one HarfBuzz has already cut to the glyphs used, 5 ms where
    fontTools takes 0.3 s, glyph names and CIDs kept for fpdf2 to find them by."""
    if font.is_cff:
        used = {font.ttfont.getGlyphID(name) for name in font.subset.get_all_glyph_names()}
        data = _cut(font.ttffile, font.collection_font_number, used)
        font.ttfont = TTFont(io.BytesIO(data), recalcTimestamp=False)
        return
    fresh = TTFont(
        font.ttffile, recalcTimestamp=False, fontNumber=font.collection_font_number, lazy=True
    )
    for tag in _UNUSED_TABLES:  # fpdf2 drops them too, but only after parsing them
        if tag in fresh:
            del fresh[tag]
    font.ttfont = fresh


# Layout tables: the PDF holds glyphs already shaped.
_UNUSED_TABLES = ("GSUB", "GPOS", "GDEF", "BASE", "JSTF", "MATH")


def _cut(path: Path, face: int, glyphs: set[int]) -> bytes:
    request = hb.SubsetInput()
    for glyph in glyphs:
        request.glyph_set.add(glyph)
    for tag in (*_UNUSED_TABLES, "vhea", "vmtx", "VORG"):
        request.drop_table_tag_set.add(int.from_bytes(tag.encode("ascii"), "big"))
    request.flags = (
        hb.SubsetFlags.GLYPH_NAMES
        | hb.SubsetFlags.NO_LAYOUT_CLOSURE
        | hb.SubsetFlags.NOTDEF_OUTLINE
    )
    cut = hb.subset(hb.Face(hb.Blob.from_file_path(str(path)), face), request)
    if cut is None:
        raise RuntimeError(f"HarfBuzz could not subset {path}")
    return bytes(cut.blob.data)


# The system's fonts, parsed on first use and kept for the life of the process.
DEFAULT_LIBRARY = FontLibrary()
