"""A deck's images, from the caller's image source only (an export never fetches a URL):
the bytes of an upload when they are a picture a PPTX and a PDF can hold, else nothing,
and the slide shows a placeholder."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

log = logging.getLogger(__name__)

ImageSource = Callable[[str], bytes | None]

# Formats a .pptx holds as they are; WebP is converted to PNG for it.
_FORMATS = {"PNG": "png", "JPEG": "jpeg", "GIF": "gif", "WEBP": "webp"}
MAX_PIXELS = 40_000_000  # beyond this an upload is a decompression bomb, not a picture


@dataclass(frozen=True)
class Picture:
    data: bytes
    kind: str  # png, jpeg, gif or webp
    width: int
    height: int

    def portable(self) -> bytes:
        """The bytes in a format every PPTX reader shows: WebP becomes PNG."""
        if self.kind != "webp":
            return self.data
        with Image.open(io.BytesIO(self.data)) as image:
            out = io.BytesIO()
            image.save(out, format="PNG")
        return out.getvalue()


class Pictures:
    """One export's images: each URL asked of the source once."""

    def __init__(self, source: ImageSource) -> None:
        self._source = source
        self._seen: dict[str, Picture | None] = {}

    def get(self, url: str) -> Picture | None:
        if url not in self._seen:
            self._seen[url] = self._load(url)
        return self._seen[url]

    def _load(self, url: str) -> Picture | None:
        if not url:
            return None
        try:
            data = self._source(url)
        except Exception:  # the source's failure costs this image, not the export
            log.warning("image source failed for %s; exporting a placeholder", url, exc_info=True)
            return None
        return picture(data) if data else None


def picture(data: bytes) -> Picture | None:
    """The picture in `data`, or None when it is not a whole PNG, JPEG, GIF or WebP of a
    sane size."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = _FORMATS.get(image.format or "")
            width, height = image.size
            if kind is None or not 0 < width * height <= MAX_PIXELS:
                return None
            image.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    return Picture(data, kind, width, height)
