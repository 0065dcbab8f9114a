"""Decks as files: PPTX (python-pptx) and PDF (fpdf2, HarfBuzz shaping, Noto fonts), both
from one layout of each slide (layout.py). An export reads nothing but the deck and the
caller's image source: it never fetches a URL. Pure functions of their input, safe to run
concurrently in a thread pool."""

from __future__ import annotations

from enum import StrEnum

from chronicle.v1.presentation_pb2 import Presentation
from server.export import pdf_writer, pptx_writer
from server.export.errors import ExportUnavailable
from server.export.images import ImageSource


class Format(StrEnum):
    """An export format, by its file extension."""

    PPTX = "pptx"
    PDF = "pdf"

    @property
    def content_type(self) -> str:
        return _CONTENT_TYPES[self]

    @property
    def extension(self) -> str:
        return self.value


_CONTENT_TYPES = {
    Format.PPTX: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    Format.PDF: "application/pdf",
}


def export(deck: Presentation, fmt: Format, images: ImageSource) -> bytes:
    """The deck as a file in `fmt`. `images(url)` gives an image block's bytes when the URL
    is one of our uploads, else None (the slide then shows a placeholder). Raises
    ExportUnavailable when this machine cannot make the file (a font for one of the deck's
    scripts is not installed); anything else it raises is a bug."""
    if fmt is Format.PPTX:
        return pptx_writer.render(deck, images)
    return pdf_writer.render(deck, images)


__all__ = ["ExportUnavailable", "Format", "ImageSource", "export"]
