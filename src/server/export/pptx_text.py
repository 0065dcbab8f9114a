"""Slide text in DrawingML: a paragraph per Para with its size, weight and theme colour;
real bullets and numbering (a:buChar, a:buAutoNum) at their level; right-to-left
paragraphs marked rtl="1"; and per run the typeface of its East Asian or complex script
(a:ea, a:cs), with the run's language, so PowerPoint picks a font that has the script."""

from __future__ import annotations

from collections.abc import Sequence

from pptx.enum.dml import MSO_THEME_COLOR
from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.oxml.text import CT_RegularTextRun
from pptx.oxml.xmlchemy import BaseOxmlElement, OxmlElement
from pptx.text.text import TextFrame, _Paragraph
from pptx.util import Emu, Pt

from server.export import theme
from server.export.content import Kind, Para
from server.export.scripts import CATALOG, Slot, Variant, is_rtl


class Typefaces:
    """The East Asian and complex-script typefaces of one deck's runs."""

    def __init__(self, variant: Variant | None) -> None:
        self._variant = variant  # the CJK face the deck reads best in

    def apply(self, run: CT_RegularTextRun, text: str) -> None:
        counts = CATALOG.counts(text)
        if not counts:
            return
        r_pr = run.get_or_add_rPr()
        after = r_pr.find(qn("a:latin"))
        lang = ""
        for script, _ in counts.most_common():
            if script.slot is Slot.LATIN or r_pr.find(qn(f"a:{script.slot}")) is not None:
                continue
            face = self._variant if script.variants else None
            element = _element(
                f"a:{script.slot}", typeface=face.typeface if face else script.typeface
            )
            lang = lang or (face.lang if face else script.lang)
            if after is not None:
                after.addnext(element)
            else:
                r_pr.append(element)
            after = element
        if lang:
            r_pr.set("lang", lang)


def fill(
    frame: TextFrame,
    paras: Sequence[Para],
    body_size: float,
    typefaces: Typefaces,
    centred: bool = False,
) -> None:
    """The paragraphs into an empty text frame."""
    prepare(frame)
    for index, para in enumerate(paras):
        paragraph = frame.paragraphs[0] if index == 0 else frame.add_paragraph()  # type: ignore[no-untyped-call]
        size = body_size * para.size
        write(paragraph, para.text, size, typefaces, bold=para.bold)
        if para.muted:
            for run in paragraph.runs:
                run.font.color.theme_color = MSO_THEME_COLOR.TEXT_2
        if index:
            paragraph.space_before = Pt(size * theme.PARAGRAPH_GAP)
        _shape(paragraph, para, size, centred)


def prepare(frame: TextFrame, anchor: MSO_ANCHOR = MSO_ANCHOR.TOP) -> None:
    """A frame that wraps, has no inner margins and asks a reader to shrink overflow."""
    frame.word_wrap = True
    frame.auto_size = MSO_AUTO_SIZE.TEXT_TO_FIT_SHAPE
    frame.margin_left = frame.margin_right = frame.margin_top = frame.margin_bottom = Emu(0)
    frame.vertical_anchor = anchor


def write(
    paragraph: _Paragraph, text: str, size: float, typefaces: Typefaces, bold: bool = False
) -> None:
    """Text into a paragraph (a line break for each newline), formatted run by run."""
    paragraph.text = text
    for run in paragraph.runs:
        run.font.size = Pt(size)
        run.font.bold = bold
        run.font.color.theme_color = MSO_THEME_COLOR.TEXT_1
        typefaces.apply(run._r, run.text)
    # The end-of-paragraph mark's size: the height of an empty line.
    paragraph._p.get_or_add_endParaRPr().set("sz", str(round(size * 100)))
    if is_rtl(text):
        paragraph._p.get_or_add_pPr().set("rtl", "1")
        paragraph.alignment = PP_ALIGN.RIGHT


def _shape(paragraph: _Paragraph, para: Para, size: float, centred: bool) -> None:
    """Alignment, indents and bullet of a paragraph."""
    p_pr = paragraph._p.get_or_add_pPr()
    rtl = p_pr.get("rtl") == "1"
    if centred and not para.listed:
        paragraph.alignment = PP_ALIGN.CENTER
    elif para.kind is Kind.ATTRIBUTION:  # under its quote, at the far end
        paragraph.alignment = PP_ALIGN.LEFT if rtl else PP_ALIGN.RIGHT
    indent = Pt(para.indent * size)
    if para.listed:
        slot = Pt(theme.INDENT * size)
        paragraph.level = para.level
        p_pr.set("marL", str(indent))
        p_pr.set("indent", str(-slot))
        colour = _element("a:buClr")
        colour.append(_element("a:srgbClr", val=rgb(theme.ACCENT)))
        if para.kind is Kind.NUMBERED:
            bullet = [colour, _element("a:buAutoNum", type="arabicPeriod", startAt=para.number)]
        else:
            typeface = _element("a:buFont", typeface=CATALOG.base.typeface)
            bullet = [colour, typeface, _element("a:buChar", char=para.marker)]
    else:
        if indent and not centred:
            p_pr.set("marL", str(indent))
        bullet = [_element("a:buNone")]
    # a:pPr's children have an order: the bullet's come before tab stops and run defaults.
    successor = next(
        (p_pr.find(qn(t)) for t in _AFTER_BULLET if p_pr.find(qn(t)) is not None), None
    )
    for element in bullet:
        if successor is not None:
            successor.addprevious(element)
        else:
            p_pr.append(element)


_AFTER_BULLET = ("a:tabLst", "a:defRPr", "a:extLst")


def _element(tag: str, **attributes: object) -> BaseOxmlElement:
    element = OxmlElement(tag)
    for name, value in attributes.items():
        element.set(name, str(value))
    return element


def rgb(colour: theme.RGB) -> str:
    """A colour as DrawingML writes it: RRGGBB."""
    return "".join(f"{c:02X}" for c in colour)
