"""An fpdf2 document that picks a font for every character: the font of the script most of
a paragraph is in, and for the characters it lacks the font of their own script, then the
base font, then any installed font that has them. Shaping (HarfBuzz) is on for paragraphs
in scripts that need it, which also lays right-to-left text out."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal, cast

from fpdf import FPDF

from server.export import theme
from server.export.pdf_fonts import FontLibrary, document_copy, reopen_for_subsetting
from server.export.scripts import CATALOG, Script, Variant

Align = Literal["L", "C", "R"]
Point = tuple[float, float, float]  # x, y and the width of the box there


@dataclass(frozen=True)
class Ink:
    """How a paragraph is drawn, and the y it must not cross."""

    size: float
    bottom: float
    align: Align = "L"
    bold: bool = False
    colour: theme.RGB = theme.INK


def _needs_shaping(text: str) -> bool:
    """Whether some character's script joins, reorders or stacks its glyphs."""
    for char in text:
        if ord(char) < 0x0590:
            continue
        script = CATALOG.script_of(char)
        if script is not None and script.shaped:
            return True
        if script is None and unicodedata.category(char)[0] in "LM":
            return True  # a script fonts.toml does not list: shape it to be safe
    return False


class Document(FPDF):
    """One export's PDF: 16:9 pages in points, no automatic page breaks or margins."""

    def __init__(self, library: FontLibrary, variant: Variant | None) -> None:
        super().__init__(unit="pt", format=(theme.PAGE_WIDTH, theme.PAGE_HEIGHT))
        self.set_auto_page_break(False)
        self.set_margins(0, 0, 0)
        self.c_margin = 0
        self._library = library
        self._variant = variant  # the CJK face the deck's language reads best in
        self._fallbacks: dict[tuple[str, str], str | None] = {}
        self._families: dict[str, str] = {}  # fallback font file -> family name
        self._lines: dict[tuple[str, float, float, bool], list[str]] = {}

    # Fonts

    def use(self, script: Script, bold: bool) -> str | None:
        """The family to set for `script`, its font added on first use (regular standing
        in for a missing bold); None when its font is not installed."""
        family = script.key
        key = family + ("B" if bold else "")
        if key not in self.fonts:
            face = self._variant.face if script.variants and self._variant else 0
            parsed = (
                self._library.parsed(script.bold, face, bold=True) if bold else None
            ) or self._library.parsed(script.regular, face)
            if parsed is None:
                return None
            self.fonts[key] = document_copy(parsed, self, key)
        return family

    def get_fallback_font(self, char: str, style: str = "") -> str | None:
        """fpdf2 asks this for every character the current font lacks."""
        key = (char, style)
        if key not in self._fallbacks:
            self._fallbacks[key] = self._fallback(char, "B" if "B" in style else "")
        return self._fallbacks[key]

    def _fallback(self, char: str, style: str) -> str | None:
        code = ord(char)
        for script in (CATALOG.script_of(char), CATALOG.base):
            family = self.use(script, bool(style)) if script is not None else None
            font = self.fonts.get(f"{family}{style}") if family else None
            if font is not None and code in getattr(font, "cmap", {}):
                return f"{family}{style}"
        relative = self._library.fallback(char)
        if relative is None:
            return None  # no installed font has it: the current font's missing-glyph box
        family = self._families.setdefault(relative, f"fallback{len(self._families)}")
        if f"{family}{style}" not in self.fonts:
            parsed = self._library.parsed(relative)
            if parsed is None:
                return None
            self.fonts[f"{family}{style}"] = document_copy(parsed, self, f"{family}{style}")
        return f"{family}{style}"

    def prepare_output(self) -> bytes:
        """The finished file: every font reopened for fpdf2 to subset, then written."""
        for font in self.fonts.values():
            if hasattr(font, "ttffile"):
                reopen_for_subsetting(font)  # type: ignore[arg-type]
        return bytes(self.output())

    # Text

    def set_text_font(self, text: str, size: float, bold: bool = False) -> None:
        """The font of the script most of `text` is in, and shaping when it needs it."""
        family = self.use(CATALOG.dominant(text), bold) or self.use(CATALOG.base, bold)
        self.set_font(family, "B" if bold else "", size)
        self.set_text_shaping(use_shaping_engine=_needs_shaping(text))

    def wrap(self, text: str, width: float, size: float, bold: bool = False) -> list[str]:
        """`text` broken into the lines it takes in a box `width` points wide."""
        key = (text, width, size, bold)
        cached = self._lines.get(key)
        if cached is None:
            self.set_text_font(text, size, bold)
            height = size * theme.LINE_HEIGHT
            found = self.multi_cell(width, height, text, dry_run=True, output="LINES")
            cached = [str(line) for line in cast(list[str], found)] or [""]
            self._lines[key] = cached
        return cached

    def draw_lines(self, paragraph: str, lines: list[str], at: Point, ink: Ink) -> float:
        """Lines of `paragraph` (from `wrap`) from `at`, none past `ink.bottom`; returns the
        y under the last one drawn. The paragraph's font draws them all, as it measured."""
        x, y, width = at
        height = ink.size * theme.LINE_HEIGHT
        self.set_text_font(paragraph, ink.size, ink.bold)
        self.set_text_color(*ink.colour)
        for line in lines:
            if y + height > ink.bottom + 0.01:
                break
            self.set_xy(x, y)
            self.cell(width, height, line, align=ink.align)
            y += height
        return y
