"""The PPTX: one slide per slide of the shared layout, on the 16:9 template. The title in
the title placeholder; text as real paragraphs (pptx_text.py); tables as PowerPoint
tables; images embedded, or a placeholder with the alt text; speaker notes on the notes
page. Sizes come from the layout's estimate, and every text frame also asks the reader to
shrink what still overflows."""

from __future__ import annotations

import io
from collections.abc import Sequence

from pptx import Presentation as PptxPresentation
from pptx.dml.color import RGBColor
from pptx.enum.dml import MSO_THEME_COLOR
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.oxml.xmlchemy import OxmlElement
from pptx.shapes.shapetree import SlideShapes
from pptx.slide import Slide as PptxSlide
from pptx.util import Emu, Length, Pt

from chronicle.v1.presentation_pb2 import Presentation
from server.export import layout, measure, pptx_text, theme
from server.export.content import (
    ELLIPSIS,
    ImageItem,
    Kind,
    Para,
    TableItem,
    TextItem,
    clean,
    more_rows,
)
from server.export.images import ImageSource, Pictures
from server.export.layout import Box, Column, Slide
from server.export.pptx_template import TITLE_ONLY_LAYOUT, template
from server.export.pptx_text import Typefaces
from server.export.scripts import deck_scripts, is_rtl

_SLIDE_NUMBER_FIELD = "{B6F15528-21DE-4FAA-801E-634DDDAF4B2B}"  # any GUID: a field's id
PLACEHOLDER_NAME = "Image placeholder"


def render(deck: Presentation, images: ImageSource) -> bytes:
    slides = layout.plan(deck)
    text = "".join(t for slide in slides for t in slide.texts())
    cjk = next((s for s in deck_scripts([text]) if s.variants), None)
    typefaces = Typefaces(cjk.variant(text) if cjk else None)
    out = PptxPresentation(io.BytesIO(template()))
    title = clean(deck.title)  # the package's properties hold 255 characters
    out.core_properties.title = title if len(title) <= 255 else title[:254] + ELLIPSIS
    pictures = Pictures(images)
    for slide in slides:
        page = out.slides.add_slide(out.slide_layouts[TITLE_ONLY_LAYOUT])
        _title(page, slide, typefaces)
        for column in slide.columns:
            _column(page.shapes, column, slide, typefaces, pictures)
        _number(page.shapes, slide.number)
        if slide.notes.strip():
            page.notes_slide.notes_text_frame.text = slide.notes
    result = io.BytesIO()
    out.save(result)
    return result.getvalue()


def _emu(box: Box) -> tuple[Length, Length, Length, Length]:
    return Pt(box.x), Pt(box.y), Pt(box.width), Pt(box.height)


def _title(page: PptxSlide, slide: Slide, typefaces: Typefaces) -> None:
    shape = page.shapes.title
    assert shape is not None, "the title-only layout has a title placeholder"
    shape.left, shape.top, shape.width, shape.height = _emu(slide.title_box)
    frame = shape.text_frame
    pptx_text.prepare(frame, MSO_ANCHOR.BOTTOM)
    paragraph = frame.paragraphs[0]
    pptx_text.write(paragraph, slide.title, slide.title_size, typefaces, bold=True)
    rtl = is_rtl(slide.title)
    if slide.cover:
        paragraph.alignment = PP_ALIGN.CENTER
        x = (theme.PAGE_WIDTH - theme.RULE_WIDTH) / 2
    elif rtl:
        x = slide.title_box.x + slide.title_box.width - theme.RULE_WIDTH
    else:
        paragraph.alignment = PP_ALIGN.LEFT
        x = slide.title_box.x
    top = theme.COVER_RULE_TOP if slide.cover else theme.RULE_TOP
    rule = Box(x, top, theme.RULE_WIDTH, theme.RULE_HEIGHT)
    _bar(page.shapes, rule)


def _bar(shapes: SlideShapes, box: Box) -> None:
    """A plain accent rectangle: the rule under a title, the rule beside a quote."""
    bar = shapes.add_shape(MSO_SHAPE.RECTANGLE, *_emu(box))
    bar.fill.solid()
    bar.fill.fore_color.theme_color = MSO_THEME_COLOR.ACCENT_1
    bar.line.fill.background()
    bar.shadow.inherit = False


def _column(
    shapes: SlideShapes, column: Column, slide: Slide, typefaces: Typefaces, pictures: Pictures
) -> None:
    box, size = column.box, slide.body_size
    heights = [measure.height(item, box.width, size) for item in column.items]
    spare = box.height - sum(heights) - theme.GAP * max(len(heights) - 1, 0)
    images = sum(isinstance(item, ImageItem) for item in column.items)
    y = box.y
    for index, (item, needed) in enumerate(zip(column.items, heights, strict=True)):
        last, height = index == len(heights) - 1, needed
        if isinstance(item, ImageItem):
            height += max(spare, 0.0) / images  # images take the room the rest leaves
            _image(
                shapes,
                item,
                Box(box.x, y, box.width, height),
                size,
                typefaces=typefaces,
                pictures=pictures,
            )
        elif isinstance(item, TableItem):
            _table(shapes, item, Box(box.x, y, box.width, height), size, typefaces)
        else:
            # The last text box reaches the column's bottom: more room before shrinking.
            room = Box(box.x, y, box.width, box.bottom - y if last else height)
            frame = shapes.add_textbox(*_emu(room)).text_frame
            pptx_text.fill(frame, item.paras, size, typefaces, centred=slide.cover)
            if not slide.cover:
                _quote_rules(shapes, item, room, size)
        y += height + theme.GAP


def _quote_rules(shapes: SlideShapes, item: TextItem, box: Box, size: float) -> None:
    """The accent rule beside each quote, where the estimate puts its lines."""
    y = box.y
    for index, para in enumerate(item.paras):
        if index:
            y += para.size * size * theme.PARAGRAPH_GAP
        height = measure.para_height(para, box.width, size)
        if para.kind is Kind.QUOTE and y + height <= box.bottom:
            x = box.x + box.width - 3 if is_rtl(para.text) else box.x
            _bar(shapes, Box(x, y + size * 0.15, 3, height - size * 0.3))
        y += height


def _table(
    shapes: SlideShapes, item: TableItem, box: Box, size: float, typefaces: Typefaces
) -> None:
    rows: list[Sequence[str]] = [item.header, *item.rows]
    if not item.header:
        return
    if item.hidden_rows:
        rows.append([more_rows(item.hidden_rows)])
    shape = shapes.add_table(len(rows), len(item.header), *_emu(box))
    table = shape.table
    cell_size = size * theme.TABLE_SIZE
    for r, cells in enumerate(rows):
        table.rows[r].height = Pt(measure.row_height(tuple(cells), box.width, size, r == 0))
        for c, text in enumerate(cells):
            cell = table.cell(r, c)
            cell.margin_left = cell.margin_right = Pt(theme.CELL_PADDING)
            cell.margin_top = cell.margin_bottom = Pt(theme.CELL_PADDING)
            paragraph = cell.text_frame.paragraphs[0]
            pptx_text.write(paragraph, text, cell_size, typefaces, bold=r == 0)
            if r == 0:  # the table style draws the header on the accent colour
                for run in paragraph.runs:
                    run.font.color.theme_color = MSO_THEME_COLOR.BACKGROUND_1


def _image(
    shapes: SlideShapes,
    item: ImageItem,
    box: Box,
    size: float,
    *,
    typefaces: Typefaces,
    pictures: Pictures,
) -> None:
    caption_para = Para(Kind.CAPTION, item.caption)
    caption = measure.para_height(caption_para, box.width, size) if item.caption else 0.0
    area = Box(box.x, box.y, box.width, box.height - caption - (4 if caption else 0))
    picture = pictures.get(item.url)
    if picture is not None:
        ratio = min(area.width / picture.width, area.height / picture.height)
        width, height = picture.width * ratio, picture.height * ratio
        x, y = area.x + (area.width - width) / 2, area.y + (area.height - height) / 2
        shown = shapes.add_picture(io.BytesIO(picture.portable()), *_emu(Box(x, y, width, height)))
        # The alt text, for screen readers.
        shown._element.nvPicPr.cNvPr.set("descr", item.alt_text)  # type: ignore[union-attr]
    else:
        shape = shapes.add_shape(MSO_SHAPE.ROUNDED_RECTANGLE, *_emu(area))
        shape.name = PLACEHOLDER_NAME
        shape.adjustments[0] = 0.05  # gently rounded corners
        shape.fill.solid()
        shape.fill.fore_color.theme_color = MSO_THEME_COLOR.BACKGROUND_2
        shape.line.color.rgb = RGBColor.from_string(pptx_text.rgb(theme.LINE))  # type: ignore[no-untyped-call]
        shape.shadow.inherit = False
        frame = shape.text_frame
        frame.word_wrap = True
        frame.vertical_anchor = MSO_ANCHOR.MIDDLE
        paragraph = frame.paragraphs[0]
        pptx_text.write(paragraph, item.alt_text, size * theme.CAPTION_SIZE, typefaces)
        paragraph.alignment = PP_ALIGN.CENTER
        for run in paragraph.runs:
            run.font.color.theme_color = MSO_THEME_COLOR.TEXT_2
    if item.caption:
        below = Box(box.x, box.bottom - caption, box.width, caption)
        frame = shapes.add_textbox(*_emu(below)).text_frame
        pptx_text.fill(frame, [caption_para], size, typefaces, centred=True)


def _number(shapes: SlideShapes, number: int) -> None:
    """The slide number as PowerPoint's own field, so it follows when slides move."""
    box = Box(theme.PAGE_WIDTH - theme.MARGIN - 80, theme.FOOTER_TOP, 80, theme.FOOTER_HEIGHT)
    frame = shapes.add_textbox(*_emu(box)).text_frame
    frame.margin_left = frame.margin_right = frame.margin_top = frame.margin_bottom = Emu(0)
    paragraph = frame.paragraphs[0]
    paragraph.alignment = PP_ALIGN.RIGHT
    field = OxmlElement("a:fld")
    field.set("id", _SLIDE_NUMBER_FIELD)
    field.set("type", "slidenum")
    properties = OxmlElement("a:rPr")
    properties.set("lang", "en-US")
    properties.set("sz", str(round(theme.NUMBER_SIZE * 100)))
    fill = OxmlElement("a:solidFill")
    colour = OxmlElement("a:schemeClr")
    colour.set("val", "tx2")
    fill.append(colour)
    properties.append(fill)
    text = OxmlElement("a:t")
    text.text = str(number)
    field.append(properties)
    field.append(text)
    paragraph._p.append(field)
