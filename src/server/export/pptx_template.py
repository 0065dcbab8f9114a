"""The starting file of every PPTX, made once per process: python-pptx's default template
widened to 16:9 (its master and layouts stretched to match, so slides added later in
PowerPoint fit too), with the export's palette and typeface as the theme's."""

from __future__ import annotations

import functools
import io
import zipfile

from pptx import Presentation
from pptx.opc.oxml import serialize_part_xml
from pptx.oxml import parse_xml
from pptx.oxml.xmlchemy import OxmlElement
from pptx.util import Pt

from server.export import theme
from server.export.scripts import CATALOG

TITLE_ONLY_LAYOUT = 5  # in the default template: a title placeholder and nothing else
_THEME_PART = "ppt/theme/theme1.xml"
_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
# Theme colour slots -> the palette: text, muted text, the table band ground and accent.
_COLOURS = {
    "dk1": theme.INK,
    "lt1": theme.PAPER,
    "dk2": theme.MUTED,
    "lt2": theme.GROUND,
    "accent1": theme.ACCENT,
}


@functools.cache
def template() -> bytes:
    deck = Presentation()
    stretch = theme.PAGE_WIDTH / (deck.slide_width / Pt(1))
    deck.slide_width = Pt(theme.PAGE_WIDTH)
    deck.slide_height = Pt(theme.PAGE_HEIGHT)
    master = deck.slide_master
    for shapes in (master.shapes, *(layout.shapes for layout in master.slide_layouts)):
        for shape in shapes:
            if shape.left is not None and shape.width is not None:
                shape.left, shape.width = int(shape.left * stretch), int(shape.width * stretch)
    out = io.BytesIO()
    deck.save(out)
    return _with_theme(out.getvalue())


def _with_theme(package: bytes) -> bytes:
    """The package with its theme's colours and Latin typeface replaced."""
    source = zipfile.ZipFile(io.BytesIO(package))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == _THEME_PART:
                data = _theme_xml(data)
            target.writestr(info, data)
    return out.getvalue()


def _theme_xml(data: bytes) -> bytes:
    root = parse_xml(data)
    scheme = root.find(f".//{{{_A}}}clrScheme")
    assert scheme is not None, "the default template has a colour scheme"
    for slot, rgb in _COLOURS.items():
        holder = scheme.find(f"{{{_A}}}{slot}")
        if holder is not None:
            for child in list(holder):
                holder.remove(child)
            colour = OxmlElement("a:srgbClr")
            colour.set("val", "".join(f"{c:02X}" for c in rgb))
            holder.append(colour)
    for latin in root.iterfind(f".//{{{_A}}}fontScheme/*/{{{_A}}}latin"):
        latin.set("typeface", CATALOG.base.typeface)
    return serialize_part_xml(root)
