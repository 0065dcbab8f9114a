"""The PDF: one 16:9 page per slide of the shared layout, drawn with fpdf2. Text stays text
(selectable, fonts embedded as subsets); sizes are checked against the real fonts, and
what still does not fit is cut at the column's bottom, so nothing leaves the page."""

from __future__ import annotations

import io
import logging

from PIL import Image

from chronicle.v1.presentation_pb2 import Presentation
from server.export import layout, theme
from server.export.content import (
    ImageItem,
    Item,
    Kind,
    Para,
    TableItem,
    TextItem,
    clean,
    more_rows,
)
from server.export.images import ImageSource, Picture, Pictures
from server.export.layout import Box, Column, Slide
from server.export.pdf_document import Align, Document, Ink
from server.export.pdf_fonts import DEFAULT_LIBRARY, FontLibrary
from server.export.scripts import deck_scripts, is_rtl

log = logging.getLogger(__name__)

_MAX_IMAGE_SIDE = 2000  # pixels: twice what a full-page image needs on a large screen


def render(deck: Presentation, images: ImageSource, fonts: FontLibrary = DEFAULT_LIBRARY) -> bytes:
    slides = layout.plan(deck)
    text = "".join(t for slide in slides for t in slide.texts())
    scripts = deck_scripts([text])
    cjk = next((s for s in scripts if s.variants), None)
    variant = cjk.variant(text) if cjk else None
    fonts.require(scripts, variant)
    pdf = Document(fonts, variant)
    pdf.set_title(clean(deck.title))
    pdf.set_creator("Chronicle")
    pictures = Pictures(images)
    for slide in slides:
        _slide(pdf, slide, pictures)
    return pdf.prepare_output()


def _slide(pdf: Document, slide: Slide, pictures: Pictures) -> None:
    pdf.add_page()
    align = _title(pdf, slide)
    rule_top = theme.COVER_RULE_TOP if slide.cover else theme.RULE_TOP
    rule_x = {
        "L": slide.title_box.x,
        "C": (theme.PAGE_WIDTH - theme.RULE_WIDTH) / 2,
        "R": slide.title_box.x + slide.title_box.width - theme.RULE_WIDTH,
    }[align]
    pdf.set_fill_color(*theme.ACCENT)
    pdf.rect(rule_x, rule_top, theme.RULE_WIDTH, theme.RULE_HEIGHT, style="F")

    def exact(item: Item, width: float, body_size: float) -> float:
        return _height(pdf, item, width, body_size, slide.cover)

    columns: list[Column] = list(slide.columns)
    scale = layout.fit_scale(columns, exact, slide.scale)
    if not layout.fits(columns, exact, scale):
        columns = [layout.cut(c, exact, scale) for c in columns]
    for column in columns:
        _column(pdf, column, theme.BODY_SIZE * scale, slide.cover, pictures)
    number = Ink(theme.NUMBER_SIZE, theme.PAGE_HEIGHT, "R", colour=theme.MUTED)
    at = (theme.PAGE_WIDTH - theme.MARGIN - 80, theme.FOOTER_TOP, 80.0)
    pdf.draw_lines(str(slide.number), [str(slide.number)], at, number)


def _title(pdf: Document, slide: Slide) -> Align:
    """The title, as large as fits (from the layout's size down), at the bottom of its box."""
    box, size = slide.title_box, slide.title_size
    lines = pdf.wrap(slide.title, box.width, size, bold=True)
    while len(lines) * size * theme.LINE_HEIGHT > box.height and size > theme.MIN_TITLE_SIZE:
        size = max(theme.MIN_TITLE_SIZE, size - 2)
        lines = pdf.wrap(slide.title, box.width, size, bold=True)
    shown = lines[: max(1, int(box.height // (size * theme.LINE_HEIGHT)))]
    align: Align = "C" if slide.cover else "R" if is_rtl(slide.title) else "L"
    top = box.bottom - len(shown) * size * theme.LINE_HEIGHT
    ink = Ink(size, box.bottom, align, bold=True)
    pdf.draw_lines(slide.title, shown, (box.x, top, box.width), ink)
    return align


# Measuring


def _para_box(para: Para, width: float, size: float, cover: bool) -> tuple[float, float]:
    """Where a paragraph's text starts in from the column's edge, and how wide it is."""
    indent = 0.0 if _centred(para, cover) else para.indent * size * para.size
    return indent, width - indent


def _centred(para: Para, cover: bool) -> bool:
    return cover and not para.listed


def _para_lines(pdf: Document, para: Para, width: float, size: float, cover: bool) -> list[str]:
    _, text_width = _para_box(para, width, size, cover)
    return pdf.wrap(para.text, text_width, size * para.size, para.bold)


def _cells(item: TableItem) -> list[tuple[tuple[str, ...], bool]]:
    """The table's rows as drawn, with whether each is the header."""
    rows = [(item.header, True), *((row, False) for row in item.rows)]
    if item.hidden_rows:
        blank = ("",) * (len(item.header) - 1)
        rows.append(((more_rows(item.hidden_rows), *blank), False))
    return rows


def _row(pdf: Document, cells: tuple[str, ...], width: float, size: float, bold: bool) -> float:
    cell_width = width / len(cells) - 2 * theme.CELL_PADDING
    tallest = max(len(pdf.wrap(c, cell_width, size, bold)) for c in cells)
    return tallest * size * theme.LINE_HEIGHT + 2 * theme.CELL_PADDING


def _height(pdf: Document, item: Item, width: float, size: float, cover: bool) -> float:
    if isinstance(item, TextItem):
        heights = [
            len(_para_lines(pdf, p, width, size, cover)) * size * p.size * theme.LINE_HEIGHT
            for p in item.paras
        ]
        gaps = sum(p.size * size * theme.PARAGRAPH_GAP for p in item.paras[1:])
        return sum(heights) + gaps
    if isinstance(item, TableItem):
        cell_size = size * theme.TABLE_SIZE
        return sum(_row(pdf, cells, width, cell_size, head) for cells, head in _cells(item))
    return theme.IMAGE_MIN_HEIGHT + _caption_height(pdf, item, width, size)


def _caption_height(pdf: Document, item: ImageItem, width: float, size: float) -> float:
    if not item.caption:
        return 0.0
    caption_size = size * theme.CAPTION_SIZE
    return len(pdf.wrap(item.caption, width, caption_size)) * caption_size * theme.LINE_HEIGHT


# Drawing


def _column(pdf: Document, column: Column, size: float, cover: bool, pictures: Pictures) -> None:
    box = column.box
    heights = [_height(pdf, item, box.width, size, cover) for item in column.items]
    spare = box.height - sum(heights) - theme.GAP * max(len(heights) - 1, 0)
    images = sum(isinstance(item, ImageItem) for item in column.items)
    y = box.y
    for item, needed in zip(column.items, heights, strict=True):
        height = needed
        if isinstance(item, ImageItem):
            height += max(spare, 0.0) / images  # images take the room the rest leaves
            _image(pdf, item, Box(box.x, y, box.width, height), size, pictures)
        elif isinstance(item, TableItem):
            _table(pdf, item, Box(box.x, y, box.width, box.bottom - y), size)
        else:
            _text(pdf, item, Box(box.x, y, box.width, box.bottom - y), size, cover)
        y += height + theme.GAP


def _text(pdf: Document, item: TextItem, box: Box, size: float, cover: bool) -> None:
    y = box.y
    for index, para in enumerate(item.paras):
        para_size = size * para.size
        if index:
            y += para_size * theme.PARAGRAPH_GAP
        indent, width = _para_box(para, box.width, size, cover)
        rtl = is_rtl(para.text)
        lines = _para_lines(pdf, para, box.width, size, cover)
        x = box.x if rtl else box.x + indent
        align: Align = "C" if _centred(para, cover) else "R" if rtl else "L"
        if para.kind is Kind.ATTRIBUTION and not cover:
            align = "L" if rtl else "R"
        if y + para_size * theme.LINE_HEIGHT > box.bottom + 0.01:
            break
        if para.listed and not _centred(para, cover):
            _marker(pdf, para, Box(box.x, y, box.width, box.bottom - y), para_size, rtl)
        ink = Ink(para_size, box.bottom, align, para.bold, _colour(para))
        end = pdf.draw_lines(para.text, lines, (x, y, width), ink)
        if para.kind is Kind.QUOTE and not cover:
            _marker(pdf, para, Box(box.x, y, box.width, end - y), para_size, rtl)
        y = end


def _colour(para: Para) -> theme.RGB:
    return theme.MUTED if para.muted else theme.INK


def _marker(pdf: Document, para: Para, box: Box, size: float, rtl: bool) -> None:
    """A bullet or number before a list item; the accent rule beside a quote."""
    if para.kind is Kind.QUOTE:
        x = box.x + box.width - 3 if rtl else box.x
        pdf.set_fill_color(*theme.ACCENT)
        pdf.rect(x, box.y + size * 0.15, 3, box.height - size * 0.3, style="F")
    elif para.listed:
        slot = theme.INDENT * size
        offset = para.level * slot
        x = box.x + box.width - offset - slot if rtl else box.x + offset
        ink = Ink(size, box.bottom, "R" if rtl else "L", colour=theme.ACCENT)
        pdf.draw_lines(para.marker, [para.marker], (x, box.y, slot), ink)


def _table(pdf: Document, item: TableItem, box: Box, size: float) -> None:
    size *= theme.TABLE_SIZE
    columns = len(item.header)
    if not columns:
        return
    cell_width = box.width / columns
    y = box.y
    pdf.set_draw_color(*theme.LINE)
    for index, (cells, head) in enumerate(_cells(item)):
        height = _row(pdf, cells, box.width, size, head)
        if y + height > box.bottom + 0.01:
            break
        if head or index % 2 == 0:
            pdf.set_fill_color(*(theme.ACCENT if head else theme.GROUND))
            pdf.rect(box.x, y, box.width, height, style="F")
        colour = theme.PAPER if head else theme.INK
        for column, cell in enumerate(cells):
            rtl = is_rtl(cell)
            inner = cell_width - 2 * theme.CELL_PADDING
            lines = pdf.wrap(cell, inner, size, head)
            x = box.x + column * cell_width + theme.CELL_PADDING
            ink = Ink(size, y + height, "R" if rtl else "L", head, colour)
            pdf.draw_lines(cell, lines, (x, y + theme.CELL_PADDING, inner), ink)
        pdf.line(box.x, y + height, box.x + box.width, y + height)
        y += height


def _image(pdf: Document, item: ImageItem, box: Box, size: float, pictures: Pictures) -> None:
    caption = _caption_height(pdf, item, box.width, size)
    area = Box(box.x, box.y, box.width, box.height - caption - (4 if caption else 0))
    picture = pictures.get(item.url)
    if picture is None or not _picture(pdf, picture, area):
        pdf.set_fill_color(*theme.GROUND)
        pdf.set_draw_color(*theme.LINE)
        pdf.rect(
            area.x, area.y, area.width, area.height, style="DF", round_corners=True, corner_radius=8
        )
        alt_size = size * theme.CAPTION_SIZE
        inner = area.width - 24
        lines = pdf.wrap(item.alt_text, inner, alt_size)
        top = area.y + max(8.0, (area.height - len(lines) * alt_size * theme.LINE_HEIGHT) / 2)
        ink = Ink(alt_size, area.bottom - 8, "C", colour=theme.MUTED)
        pdf.draw_lines(item.alt_text, lines, (area.x + 12, top, inner), ink)
    if item.caption:
        caption_size = size * theme.CAPTION_SIZE
        lines = pdf.wrap(item.caption, box.width, caption_size)
        ink = Ink(caption_size, box.bottom, "C", colour=theme.MUTED)
        pdf.draw_lines(item.caption, lines, (box.x, box.bottom - caption, box.width), ink)


def _picture(pdf: Document, picture: Picture, area: Box) -> bool:
    """The picture, as large as fits the area, centred; False when it cannot be decoded."""
    ratio = min(area.width / picture.width, area.height / picture.height)
    width, height = picture.width * ratio, picture.height * ratio
    x, y = area.x + (area.width - width) / 2, area.y + (area.height - height) / 2
    try:
        pdf.image(_decoded(picture), x=x, y=y, w=width, h=height)
    except Exception:  # a picture that passed the header check but will not decode
        log.warning("cannot draw an image; drawing its placeholder", exc_info=True)
        return False
    return True


def _decoded(picture: Picture) -> io.BytesIO | Image.Image:
    """What fpdf2 embeds: a JPEG or PNG as it is, anything else or anything larger than a
    page needs decoded (and scaled down)."""
    if picture.kind in ("jpeg", "png") and max(picture.width, picture.height) <= _MAX_IMAGE_SIDE:
        return io.BytesIO(picture.data)
    image: Image.Image = Image.open(io.BytesIO(picture.data))
    image = image.convert("RGBA" if "A" in image.getbands() or image.mode == "P" else "RGB")
    image.thumbnail((_MAX_IMAGE_SIDE, _MAX_IMAGE_SIDE))
    return image
