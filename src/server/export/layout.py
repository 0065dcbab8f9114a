"""Where everything goes on a slide, the same for every format: the title's box and size,
the body's columns by the section's layout, and one body text size for the whole slide,
the largest at which the estimate fits; at the smallest, what does not fit is cut."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from chronicle.v1.presentation_pb2 import Presentation, Section
from server.export import measure, theme
from server.export.content import (
    ELLIPSIS,
    ImageItem,
    Item,
    Para,
    TableItem,
    TextItem,
    clean,
    items,
)
from server.export.scripts import is_rtl
from server.vocabulary import Layout

_SCALE_STEP = 0.05
_QUOTE_MAX_SCALE = 1.4  # a quote slide's text starts larger
_IMAGE_SHARE = 0.55  # of the body an image column takes beside text (the image layout's)
_SIDE_IMAGE_SHARE = 0.4  # ... in the other layouts


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def bottom(self) -> float:
        return self.y + self.height


@dataclass(frozen=True)
class Column:
    box: Box
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Slide:
    number: int
    cover: bool  # the title and closing layouts: a centred title with the text under it
    title: str
    title_box: Box
    title_size: float
    columns: tuple[Column, ...]
    scale: float  # the body text size is theme.BODY_SIZE times this
    notes: str

    @property
    def body_size(self) -> float:
        return theme.BODY_SIZE * self.scale

    def texts(self) -> Iterator[str]:
        """Every text the slide shows (the notes are not on it)."""
        yield self.title
        for column in self.columns:
            for item in column.items:
                if isinstance(item, TextItem):
                    yield from (p.text for p in item.paras)
                elif isinstance(item, TableItem):
                    yield from item.header
                    yield from (cell for row in item.rows for cell in row)
                else:
                    yield item.alt_text
                    yield item.caption


# The height an item takes in a column of some width at some body size.
Measure = Callable[[Item, float, float], float]


def plan(deck: Presentation) -> list[Slide]:
    """One slide per section; a deck without sections still gets its title slide."""
    sections = list(deck.sections) or [Section(title=deck.title, layout=Layout.TITLE)]
    return [_slide(section, number) for number, section in enumerate(sections, 1)]


def _slide(section: Section, number: int) -> Slide:
    title = clean(section.title)
    cover = section.layout in (Layout.TITLE, Layout.CLOSING)
    width = theme.PAGE_WIDTH - 2 * theme.MARGIN
    if cover:
        inset = theme.COVER_INSET
        top, height = theme.COVER_TITLE_TOP, theme.COVER_TITLE_HEIGHT
        title_box = Box(theme.MARGIN + inset, top, width - 2 * inset, height)
        body_height = theme.BODY_BOTTOM - theme.COVER_BODY_TOP
        body = Box(title_box.x, theme.COVER_BODY_TOP, title_box.width, body_height)
        size = theme.COVER_TITLE_SIZE
    else:
        title_box = Box(theme.MARGIN, theme.TITLE_TOP, width, theme.TITLE_HEIGHT)
        body = Box(theme.MARGIN, theme.BODY_TOP, width, theme.BODY_BOTTOM - theme.BODY_TOP)
        size = theme.TITLE_SIZE
    content = items(section.blocks, title)
    title, title_size = fit_title(title, title_box, size)
    columns = _columns(section.layout, body, content)
    if is_rtl(title + "".join(p.text for i in content if isinstance(i, TextItem) for p in i.paras)):
        columns = [replace(c, box=_mirrored(c.box)) for c in columns]  # first column right
    top = _QUOTE_MAX_SCALE if section.layout == Layout.QUOTE else 1.0
    scale = fit_scale(columns, measure.height, top)
    if not fits(columns, measure.height, scale):
        columns = [cut(c, measure.height, scale) for c in columns]
    notes = clean(section.speaker_notes)
    return Slide(number, cover, title, title_box, title_size, tuple(columns), scale, notes)


def fit_title(title: str, box: Box, size: float) -> tuple[str, float]:
    """The title and the largest size (down to the theme's least) at which it fits its box;
    cut to fit at that size when it does not."""
    while True:
        rows = max(1, int(box.height // (size * theme.LINE_HEIGHT)))
        if measure.lines(title, box.width / size, bold=True) <= rows:
            return title, size
        if size <= theme.MIN_TITLE_SIZE:
            return _cut_text(title, rows, box.width / size, bold=True), size
        size = max(theme.MIN_TITLE_SIZE, size - 2)


def _columns(layout: str, body: Box, content: list[Item]) -> list[Column]:
    images = [i for i in content if isinstance(i, ImageItem)]
    others = [i for i in content if not isinstance(i, ImageItem)]
    if images and others:  # the images beside the rest: left in the image layout
        share = _IMAGE_SHARE if layout == Layout.IMAGE else _SIDE_IMAGE_SHARE
        image_box, text_box = _split(body, share)
        if layout != Layout.IMAGE:
            text_box, image_box = _split(body, 1 - share)
        return [Column(image_box, tuple(images)), Column(text_box, tuple(others))]
    if layout == Layout.TWO_COLUMN:
        left, right = _halves(content)
        if right:
            first, second = _split(body, 0.5)
            return [Column(first, tuple(left)), Column(second, tuple(right))]
    return [Column(body, tuple(content))]


def _mirrored(box: Box) -> Box:
    return replace(box, x=theme.PAGE_WIDTH - box.x - box.width)


def _split(box: Box, share: float) -> tuple[Box, Box]:
    """The box cut in two side by side, the first `share` of it (less half the gutter) left."""
    first = (box.width - theme.GUTTER) * share
    return (
        Box(box.x, box.y, first, box.height),
        Box(box.x + first + theme.GUTTER, box.y, box.width - first - theme.GUTTER, box.height),
    )


def _halves(content: list[Item]) -> tuple[list[Item], list[Item]]:
    """Two columns' worth: the items shared out, or a lone text item's paragraphs."""
    if len(content) >= 2:
        middle = math.ceil(len(content) / 2)
        return content[:middle], content[middle:]
    if len(content) == 1 and isinstance(content[0], TextItem) and len(content[0].paras) >= 2:
        paras = content[0].paras
        middle = math.ceil(len(paras) / 2)
        return [TextItem(paras[:middle])], [TextItem(paras[middle:])]
    return content, []


def column_height(column: Column, heights: Measure, body_size: float) -> float:
    parts = [heights(item, column.box.width, body_size) for item in column.items]
    return sum(parts) + theme.GAP * max(len(parts) - 1, 0)


def fits(columns: Sequence[Column], heights: Measure, scale: float) -> bool:
    size = theme.BODY_SIZE * scale
    return all(column_height(c, heights, size) <= c.box.height for c in columns)


def fit_scale(columns: Sequence[Column], heights: Measure, top: float = 1.0) -> float:
    """The largest scale, in steps down to the theme's least, at which every column fits."""
    scale = top
    while scale > theme.MIN_SCALE and not fits(columns, heights, scale):
        scale = round(max(theme.MIN_SCALE, scale - _SCALE_STEP), 2)
    return scale


def cut(column: Column, heights: Measure, scale: float) -> Column:
    """The column's items down to what fits, the one that crosses the bottom shortened."""
    size, width = theme.BODY_SIZE * scale, column.box.width
    room, kept = column.box.height, list[Item]()
    for item in column.items:
        need = heights(item, width, size)
        if need <= room:
            kept.append(item)
            room -= need + theme.GAP
            continue
        part = _shorten(item, room, width, size)
        if part is not None:
            kept.append(part)
        break
    return replace(column, items=tuple(kept))


def _shorten(item: Item, room: float, width: float, size: float) -> Item | None:
    if isinstance(item, TextItem):
        return _shorten_text(item, room, width, size)
    if isinstance(item, TableItem):
        return _shorten_table(item, room, width, size)
    return None  # an image below its least height is not worth showing


def _shorten_text(item: TextItem, room: float, width: float, size: float) -> TextItem | None:
    kept: list[Para] = []
    for para in item.paras:
        gap = para.size * size * theme.PARAGRAPH_GAP if kept else 0.0
        need = gap + measure.para_height(para, width, size)
        if need <= room:
            kept.append(para)
            room -= need
            continue
        line = para.size * size * theme.LINE_HEIGHT
        rows = int((room - gap) // line)
        if rows >= 1:
            em_width = width / (para.size * size) - para.indent
            kept.append(replace(para, text=_cut_text(para.text, rows, em_width, para.bold)))
        break
    return TextItem(tuple(kept)) if kept else None


def _shorten_table(item: TableItem, room: float, width: float, size: float) -> TableItem | None:
    room -= measure.row_height(item.header, width, size, True)
    room -= measure.row_height(("",), width, size, False)  # the row saying what was cut
    if room < 0:
        return None
    rows: list[tuple[str, ...]] = []
    for row in item.rows:
        room -= measure.row_height(row, width, size, False)
        if room < 0:
            break
        rows.append(row)
    return TableItem(item.header, tuple(rows), item.hidden_rows + len(item.rows) - len(rows))


def _cut_text(text: str, rows: int, width_em: float, bold: bool = False) -> str:
    """The longest start of `text` that, with an ellipsis, wraps to at most `rows` lines."""
    if measure.lines(text, width_em, bold) <= rows:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if measure.lines(text[:middle].rstrip() + ELLIPSIS, width_em, bold) <= rows:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + ELLIPSIS
