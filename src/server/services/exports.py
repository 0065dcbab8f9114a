"""Exporting a deck as a file (PPTX, PDF): the rules around the exporters of
server.export — which formats, which images a file may embed, what the file is called."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
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
EXPORT_TIMEOUT_SECONDS = 120.0
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


Render = Callable[[Presentation, "export.Format", dict[str, bytes]], bytes]


def export_deck(
    deck: Presentation, fmt: export.Format, images: dict[str, bytes], render: Render
) -> ExportedFile:
    """The file; 503 when this machine cannot make it (a font package missing)."""
    from server import export

    try:
        data = render(deck, fmt, images)
    except export.ExportUnavailable as exc:
        raise Unavailable(str(exc)) from exc
    return ExportedFile(data, fmt.content_type, file_name(deck.title, fmt.extension))


class ExportsBusy(Unavailable):
    default_message = "Exports are busy: retry in a few seconds"


class ExportPool:
    """Exports made in child processes, `processes` at a time. In the server's own
    threads, the exporters' pure-Python work would hold the GIL that its event loop
    needs: measured, GetPresentation's p99 rose 10x beside one export (bench/
    export_load.py). Started on the first export, with `spawn` (no fork of a gRPC
    process); each child loads the exporters and their fonts once.

    Public decks can be exported by anyone, so an export must not be a way to take the
    server's threads: at most QUEUED_PER_PROCESS exports wait per process (then 503,
    retry later), the same file asked again is answered from a small cache, and a child
    that crashed or hung is replaced rather than leaving exports broken."""

    QUEUED_PER_PROCESS = 4
    CACHE_BYTES = 64 * 1024 * 1024

    def __init__(self, processes: int) -> None:
        self._processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(processes * self.QUEUED_PER_PROCESS)
        self._cache: OrderedDict[bytes, bytes] = OrderedDict()
        self._cached_bytes = 0

    def render(self, deck: Presentation, fmt: export.Format, images: dict[str, bytes]) -> bytes:
        wire = deck.SerializeToString(deterministic=True)
        key = hashlib.sha256(wire + fmt.value.encode() + _images_digest(images)).digest()
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        if not self._slots.acquire(blocking=False):
            raise ExportsBusy()
        try:
            data = self._render(wire, fmt.value, images)
        finally:
            self._slots.release()
        self._remember(key, data)
        return data

    def _render(self, wire: bytes, fmt: str, images: dict[str, bytes]) -> bytes:
        for attempt in range(2):
            pool = self._started()
            try:
                job = pool.submit(_render_in_child, wire, fmt, images)
                data: bytes = job.result(timeout=EXPORT_TIMEOUT_SECONDS)
            except BrokenProcessPool:  # a child died (killed, out of memory): replace it
                self._replace(pool)
                if attempt:
                    raise Unavailable("The export process failed; retry shortly") from None
            except TimeoutError:  # a hung child keeps its slot: replace the whole pool
                self._replace(pool)
                raise Unavailable("The export took too long; retry shortly") from None
            else:
                return data
        raise AssertionError("unreachable")

    def _started(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(
                    self._processes, mp_context=context, initializer=_lower_priority
                )
            return self._pool

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:
                self._pool = None
        for process in list(getattr(broken, "_processes", {}).values()):
            process.kill()  # a hung child would keep running its export
        broken.shutdown(wait=False, cancel_futures=True)

    def _remember(self, key: bytes, data: bytes) -> None:
        if len(data) > self.CACHE_BYTES // 4:
            return
        with self._lock:
            if key in self._cache:
                return
            self._cache[key] = data
            self._cached_bytes += len(data)
            while self._cached_bytes > self.CACHE_BYTES:
                _, dropped = self._cache.popitem(last=False)
                self._cached_bytes -= len(dropped)

    def shutdown(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def _images_digest(images: dict[str, bytes]) -> bytes:
    digest = hashlib.sha256()
    for url in sorted(images):
        digest.update(url.encode() + b"\0" + hashlib.sha256(images[url]).digest())
    return digest.digest()


def render_here(deck: Presentation, fmt: export.Format, images: dict[str, bytes]) -> bytes:
    """An export in the calling thread (tests, tools)."""
    from server import export

    return export.export(deck, fmt, images.get)


def _lower_priority() -> None:
    """A child yields the CPU to the server's requests: an export may take a second,
    a GetPresentation must not wait behind it."""
    os.nice(10)


def _render_in_child(deck: bytes, fmt: str, images: dict[str, bytes]) -> bytes:
    from server import export

    return export.export(Presentation.FromString(deck), export.Format(fmt), images.get)


def file_name(title: str, extension: str) -> str:
    """The deck's title as a file name: no path separators or control characters."""
    stem = " ".join(_UNSAFE_IN_NAMES.sub(" ", title).split())[:120].strip(" .")
    return f"{stem or 'presentation'}.{extension.lstrip('.')}"
