"""A section's blocks as what a slide shows: runs of paragraphs (headings, text, bullets,
quotes), tables and images, with the text made safe for XML and PDF alike."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from chronicle.v1.presentation_pb2 import ContentBlock
from server.export import theme

MAX_BULLET_LEVEL = 4
# Tables larger than a slide can show at its smallest type are cut before measuring.
MAX_TABLE_ROWS = 60
MAX_TABLE_COLUMNS = 12
MAX_CELL_CHARS = 300
MAX_CAPTION_CHARS = 200  # captions and alt text: a line or two under or in an image
ELLIPSIS = "\u2026"

# What neither an XML document nor a PDF string can carry: C0/C1 controls but tab and
# newline, lone surrogates, and the noncharacters U+FFFE/U+FFFF.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# A bullet item's depth: two spaces or a tab per level before its text, as in Markdown.
_INDENT = re.compile(r"^(?:\t|  )*")


def clean(text: str) -> str:
    """`text` with line ends as \\n, tabs as spaces and unsafe characters dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return _UNSAFE.sub("", text)


class Kind(StrEnum):
    HEADING = "heading"
    PARAGRAPH = "paragraph"
    BULLET = "bullet"
    NUMBERED = "numbered"
    QUOTE = "quote"
    ATTRIBUTION = "attribution"
    CAPTION = "caption"


_SIZES = {Kind.QUOTE: 1.2, Kind.ATTRIBUTION: 0.85, Kind.CAPTION: theme.CAPTION_SIZE}
_HEADING_SIZES = {1: 1.3, 2: 1.15}


@dataclass(frozen=True)
class Para:
    """One paragraph of slide text."""

    kind: Kind
    text: str
    level: int = 0  # bullets: depth, 0 to MAX_BULLET_LEVEL; headings: 1 to 3
    number: int = 0  # numbered bullets: the item's number

    @property
    def size(self) -> float:
        """The font size, relative to the slide's body size."""
        if self.kind is Kind.HEADING:
            return _HEADING_SIZES.get(self.level, 1.0)
        return _SIZES.get(self.kind, 1.0)

    @property
    def bold(self) -> bool:
        return self.kind is Kind.HEADING

    @property
    def muted(self) -> bool:
        return self.kind in (Kind.ATTRIBUTION, Kind.CAPTION)

    @property
    def listed(self) -> bool:
        return self.kind in (Kind.BULLET, Kind.NUMBERED)

    @property
    def indent(self) -> float:
        """How far in, in ems, the text starts: room for a bullet or a quote's rule."""
        if self.listed:
            return (self.level + 1) * theme.INDENT
        return theme.INDENT if self.kind in (Kind.QUOTE, Kind.ATTRIBUTION) else 0.0

    @property
    def marker(self) -> str:
        return f"{self.number}." if self.kind is Kind.NUMBERED else "\u2022"


@dataclass(frozen=True)
class TextItem:
    paras: tuple[Para, ...]


@dataclass(frozen=True)
class TableItem:
    header: tuple[str, ...]  # as many cells as every row
    rows: tuple[tuple[str, ...], ...]
    hidden_rows: int = 0  # cut for space: a last row says how many


@dataclass(frozen=True)
class ImageItem:
    url: str
    alt_text: str
    caption: str


Item = TextItem | TableItem | ImageItem


def more_rows(count: int) -> str:
    """The first cell of the row that stands for `count` rows a slide had no room for."""
    return f"{ELLIPSIS} (+{count})"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + ELLIPSIS


def bullet(item: str) -> tuple[int, str]:
    """An item's depth (from its leading indentation) and its text."""
    indent = _INDENT.match(item)
    depth = len(indent.group().replace("  ", "\t")) if indent else 0
    return min(depth, MAX_BULLET_LEVEL), clean(item[indent.end() if indent else 0 :].strip())


def _table(block: ContentBlock) -> TableItem:
    header = [clean(c) for c in block.table.header]
    rows = [[clean(c) for c in row.cells] for row in block.table.rows[:MAX_TABLE_ROWS]]
    width = max([len(header), *(len(r) for r in rows)])
    hidden_columns = max(0, width - MAX_TABLE_COLUMNS)
    width = min(width, MAX_TABLE_COLUMNS)

    def fit(cells: list[str]) -> tuple[str, ...]:
        cells = [_cut(c, MAX_CELL_CHARS) for c in cells]
        return tuple(cells[:width] + [""] * (width - len(cells)))

    shown_header = fit(header)
    if hidden_columns:  # the last header cell says how many columns are not shown
        shown_header = (*shown_header[:-1], f"{shown_header[-1]} {more_rows(hidden_columns)}")
    hidden = max(0, len(block.table.rows) - MAX_TABLE_ROWS)
    return TableItem(shown_header, tuple(fit(r) for r in rows), hidden)


def _paras(block: ContentBlock) -> Iterator[Para]:
    kind = block.WhichOneof("kind")
    if kind == "heading":
        level = min(max(block.heading.level, 1), 3)
        yield Para(Kind.HEADING, clean(block.heading.text), level=level)
    elif kind == "paragraph":
        yield Para(Kind.PARAGRAPH, clean(block.paragraph.text))
    elif kind == "bullet_list":
        ordered = block.bullet_list.ordered
        counts = [0] * (MAX_BULLET_LEVEL + 1)  # numbering restarts under each parent
        for item in block.bullet_list.items:
            level, text = bullet(item)
            counts[level] += 1
            counts[level + 1 :] = [0] * (MAX_BULLET_LEVEL - level)
            yield Para(Kind.NUMBERED if ordered else Kind.BULLET, text, level, counts[level])
    elif kind == "quote":
        yield Para(Kind.QUOTE, clean(block.quote.text))
        if block.quote.attribution.strip():
            yield Para(Kind.ATTRIBUTION, f"\u2014 {clean(block.quote.attribution)}")


def items(blocks: Iterable[ContentBlock], title: str) -> list[Item]:
    """The slide's items in order, consecutive text blocks in one item; a heading that only
    repeats the slide's title (as the built-in writer's title slides have) is left out."""
    result: list[Item] = []
    paras: list[Para] = []
    for block in blocks:
        kind = block.WhichOneof("kind")
        if kind in ("table", "image") and paras:
            result.append(TextItem(tuple(paras)))
            paras = []
        if kind == "table":
            table = _table(block)
            if table.header:  # a table without a column shows nothing
                result.append(table)
        elif kind == "image":
            image = block.image
            alt_text, caption = (
                _cut(clean(t), MAX_CAPTION_CHARS) for t in (image.alt_text, image.caption)
            )
            result.append(ImageItem(image.url, alt_text, caption))
        elif kind == "heading" and clean(block.heading.text).strip() == title.strip():
            continue
        else:
            paras.extend(_paras(block))
    if paras:
        result.append(TextItem(tuple(paras)))
    return result
