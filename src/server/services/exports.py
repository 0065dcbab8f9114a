"""Exporting a deck as a file (PPTX, PDF): the rules around the exporters of
server.export — which formats, which images a file may embed, what the file is called."""

from __future__ import annotations

import re
from dataclasses import dataclass

from typing import TYPE_CHECKING

from chronicle.v1.presentation_pb2 import Presentation
from server.errors import InvalidArgument, Unavailable
from server.files.store import FileStore
from server.services import uploads
from server.storage.uow import UnitOfWork

if TYPE_CHECKING:
    from server import export

# The exporters (fpdf2, harfbuzz, python-pptx) are loaded by the first export, not by
# every process that serves the API.
FORMATS = ("pptx", "pdf")
MAX_IMAGES = 50  # embedded per file; further images get the exporters' placeholder
_UNSAFE_IN_NAMES = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


@dataclass(frozen=True)
class ExportedFile:
    data: bytes
    content_type: str
    file_name: str


def export_format(requested: str) -> export.Format:
    from server import export

    try:
        return export.Format(requested.strip().lower())
    except ValueError:
        raise InvalidArgument(
            f"format: must be one of {', '.join(FORMATS)} (got {requested.strip()[:20]!r})"
            if requested.strip()
            else f"format: is required, one of {', '.join(FORMATS)}"
        ) from None


def deck_images(uow: UnitOfWork, store: FileStore | None, deck: Presentation) -> dict[str, bytes]:
    """The deck's images this service stores itself, by URL: all a file may embed.
    Read before exporting, so the export itself holds no database connection."""
    found: dict[str, bytes] = {}
    for section in deck.sections:
        for block in section.blocks:
            url = block.image.url if block.WhichOneof("kind") == "image" else ""
            if url and url not in found and len(found) < MAX_IMAGES:
                image = uploads.stored_image(uow, store, deck.workspace_id, url)
                if image is not None:
                    found[url] = image[0]
    return found


def export_deck(deck: Presentation, fmt: export.Format, images: dict[str, bytes]) -> ExportedFile:
    """The file; 503 when this machine cannot make it (a font package missing)."""
    from server import export

    try:
        data = export.export(deck, fmt, images.get)
    except export.ExportUnavailable as exc:
        raise Unavailable(str(exc)) from exc
    return ExportedFile(data, fmt.content_type, file_name(deck.title, fmt.extension))


def file_name(title: str, extension: str) -> str:
    """The deck's title as a file name: no path separators or control characters."""
    stem = " ".join(_UNSAFE_IN_NAMES.sub(" ", title).split())[:120].strip(" .")
    return f"{stem or 'presentation'}.{extension.lstrip('.')}"
