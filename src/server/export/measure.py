"""How much room text takes, estimated without fonts: average advance widths per kind of
character, and greedy line breaking at spaces (anywhere in CJK text, and inside a word too
long for a line). Good to a line or so; the PDF measures exactly where it matters."""

from __future__ import annotations

import functools
import unicodedata

from server.export import theme
from server.export.content import Item, Para, TableItem, TextItem
from server.export.scripts import CATALOG

_ASCII_WIDTHS = {" ": 0.26, ".": 0.27, ",": 0.27, ":": 0.27, ";": 0.27, "'": 0.2, "|": 0.25}
_SCRIPT_WIDTHS = {"cjk": 1.0, "arabic": 0.48, "hebrew": 0.55, "devanagari": 0.62, "bengali": 0.6}
_BOLD = 1.06


@functools.cache
def em(char: str) -> float:
    """The advance width of `char` in ems, roughly, in the regular face."""
    if char.isascii():
        if char in _ASCII_WIDTHS:
            return _ASCII_WIDTHS[char]
        if char.isupper() or char in "mwMW@%&":
            return 0.66
        return 0.57 if char.isdigit() else 0.52
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0.0
    script = CATALOG.script_of(char)
    if script is not None and script.key in _SCRIPT_WIDTHS:
        return _SCRIPT_WIDTHS[script.key]
    return 1.0 if unicodedata.east_asian_width(char) in ("W", "F") else 0.6


def lines(text: str, width_em: float, bold: bool = False) -> int:
    """How many lines `text` wraps to in a box `width_em` ems wide."""
    width = max(width_em, 1.0) / (_BOLD if bold else 1.0)
    count = 0
    for paragraph in text.split("\n"):
        count += 1
        line = word = 0.0
        for char in paragraph:
            advance = em(char)
            if char == " " or advance >= 1.0:  # a break opportunity after this character
                if line + word + advance > width and line > 0:
                    count += 1
                    line = 0.0
                line += word + advance
                word = 0.0
                continue
            word += advance
            if line + word > width:
                if line > 0:  # the word moves to a line of its own
                    count += 1
                    line = 0.0
                while word > width:  # and is broken where it overflows that
                    count += 1
                    word -= width
        if line + word > width:
            count += 1
    return count


def para_height(para: Para, width: float, body_size: float) -> float:
    size = body_size * para.size
    return lines(para.text, width / size - para.indent, para.bold) * size * theme.LINE_HEIGHT


def text_height(item: TextItem, width: float, body_size: float) -> float:
    gaps = sum(p.size * body_size * theme.PARAGRAPH_GAP for p in item.paras[1:])
    return gaps + sum(para_height(p, width, body_size) for p in item.paras)


def row_height(cells: tuple[str, ...], width: float, body_size: float, bold: bool) -> float:
    size = body_size * theme.TABLE_SIZE
    cell_em = (width / max(len(cells), 1) - 2 * theme.CELL_PADDING) / size
    tallest = max((lines(c, cell_em, bold) for c in cells), default=1)
    return tallest * size * theme.LINE_HEIGHT + 2 * theme.CELL_PADDING


def table_height(item: TableItem, width: float, body_size: float) -> float:
    rows = [row_height(r, width, body_size, False) for r in item.rows]
    extra = row_height(("",), width, body_size, False) if item.hidden_rows else 0.0
    return row_height(item.header, width, body_size, True) + sum(rows) + extra


def height(item: Item, width: float, body_size: float) -> float:
    """The room an item needs; an image, the least it is shown at."""
    if isinstance(item, TextItem):
        return text_height(item, width, body_size)
    if isinstance(item, TableItem):
        return table_height(item, width, body_size)
    caption = body_size * theme.CAPTION_SIZE * theme.LINE_HEIGHT if item.caption else 0.0
    return theme.IMAGE_MIN_HEIGHT + caption
