"""The text of an uploaded file, for the writers: txt and md as UTF-8, pdf with pypdf,
pptx with python-pptx (every shape of every slide, and the notes). Images carry no text
we read. Each file gives at most MAX_CHARS characters."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import IO, Any

from pptx import Presentation
from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PyPdfError

from chronicle import upload_policy

MAX_CHARS = 200_000

# pypdf reports every oddity of a damaged file as a warning: not worth a log line each.
logging.getLogger("pypdf").setLevel(logging.ERROR)


class ExtractionError(ValueError):
    """The file cannot be read as its type says; the message is safe to show."""


def text_of(stream: IO[bytes], content_type: str) -> str | None:
    """The file's text (capped), or None for a type whose text is not read (images)."""
    if content_type in upload_policy.TEXT_TYPES:
        raw = stream.read(MAX_CHARS * 4)  # UTF-8: at most 4 bytes a character
        return raw.decode("utf-8", errors="replace").lstrip("\ufeff")[:MAX_CHARS]
    if content_type == upload_policy.PDF:
        return _capped(_pdf_pages(stream))
    if content_type == upload_policy.PPTX:
        return _capped(_pptx_slides(stream))
    return None


def _capped(parts: Iterable[str]) -> str:
    """Parts joined by blank lines, read only until MAX_CHARS are reached."""
    kept: list[str] = []
    size = 0
    for raw in parts:
        part = raw.strip()
        if not part:
            continue
        kept.append(part)
        size += len(part) + 2
        if size >= MAX_CHARS:
            break
    return "\n\n".join(kept)[:MAX_CHARS]


def _pdf_pages(stream: IO[bytes]) -> Iterator[str]:
    try:
        reader = PdfReader(stream)
        if reader.is_encrypted:
            raise ExtractionError("the PDF is encrypted")
        pages = reader.pages
        count = len(pages)
    except ExtractionError:
        raise
    except Exception as exc:  # pypdf raises many kinds on a damaged file
        raise ExtractionError(f"the PDF could not be read ({_reason(exc)})") from None
    for index in range(count):
        try:
            yield pages[index].extract_text() or ""
        except (FileNotDecryptedError, PyPdfError, ValueError, KeyError, TypeError) as exc:
            raise ExtractionError(
                f"page {index + 1} of the PDF could not be read ({_reason(exc)})"
            ) from None


def _pptx_slides(stream: IO[bytes]) -> Iterator[str]:
    try:
        deck = Presentation(stream)
    except Exception as exc:  # a zip that is not a presentation, or no zip at all
        raise ExtractionError(f"the PowerPoint file could not be read ({_reason(exc)})") from None
    for slide in deck.slides:
        title_shape = slide.shapes.title
        title = title_shape.text_frame.text.strip() if title_shape is not None else ""
        lines = [f"## {title}"] if title else []
        for shape in slide.shapes:
            if shape is title_shape:
                continue
            lines.extend(_shape_text(shape))
        if slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame
            if notes is not None and notes.text.strip():
                lines.append(notes.text.strip())
        yield "\n\n".join(line for line in lines if line.strip())


# python-pptx ships no type hints: a shape is whatever kind the slide holds.
def _shape_text(shape: Any) -> Iterator[str]:
    """Text frames, table cells and grouped shapes, in reading order."""
    if hasattr(shape, "shapes"):
        for inner in shape.shapes:  # a group
            yield from _shape_text(inner)
    if getattr(shape, "has_text_frame", False):
        for paragraph in shape.text_frame.paragraphs:
            text = paragraph.text.strip()
            if text:
                yield text
    if getattr(shape, "has_table", False):
        for row in shape.table.rows:
            cells = [cell.text.strip() for cell in row.cells]
            if any(cells):
                yield " | ".join(cells)


def _reason(exc: Exception) -> str:
    """The library's first line, short: it names the damage, never our internals."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
